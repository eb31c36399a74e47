import { LoginForm, RegisterForm } from '@/features/auth/components/AuthForms';

export function LoginPage() {
  return <div className="narrow"><LoginForm /></div>;
}

export function RegisterPage() {
  return <div className="narrow"><RegisterForm /></div>;
}
