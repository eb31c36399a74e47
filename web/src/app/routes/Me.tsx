import { DeleteAccount, MyData } from '@/features/account/components/Account';
import { t } from '@/lib/i18n';
import { useEventNames } from '@/features/events/api';
import { useMyBookings } from '@/features/bookings/api';
import { MyBookings } from '@/features/bookings/components/MyBookings';
import { MyWaitlist } from '@/features/waitlist/components/MyWaitlist';
import { useMyWaitlist } from '@/features/waitlist/api';
import { MyTickets } from '@/features/tickets/components/MyTickets';
import { NotificationList, Preferences, PushOptIn } from '@/features/notifications/components/Notifications';

export function BookingsPage() {
  const bookings = useMyBookings();
  const waitlist = useMyWaitlist();
  const names = useEventNames([
    ...(bookings.data?.items.map((b) => b.event_id) ?? []),
    ...(waitlist.data?.items.map((w) => w.event_id) ?? []),
  ]);
  return (
    <div className="stack">
      <MyWaitlist eventName={names} />
      <MyBookings eventName={names} />
    </div>
  );
}

export function TicketsPage() {
  const bookings = useMyBookings('confirmed');
  const items = bookings.data?.items ?? [];
  const names = useEventNames(items.map((b) => b.event_id));
  return <MyTickets bookingIds={items.map((b) => b.id)} eventName={names} loading={bookings.isLoading} />;
}

export function NotificationsPage() {
  return (
    <div className="two-col">
      <NotificationList />
      <div className="stack">
        <PushOptIn />
        <Preferences />
      </div>
    </div>
  );
}

export function AccountPage() {
  return (
    <div className="stack">
      <h1>{t.account.title}</h1>
      <MyData />
      <DeleteAccount />
    </div>
  );
}
