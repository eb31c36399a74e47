import Admin from '@/features/admin/components/Admin';

export default function AdminPage() {
  return <Admin />;
}
