import { Console } from '@/features/organizer/components/Console';
import { useSession } from '@/lib/useSession';

export default function OrganizerPage() {
  const { user } = useSession();
  return <Console userId={user?.id} admin={user?.role === 'admin'} />;
}
