import { lazy, Suspense, type ReactNode } from 'react';
import { createBrowserRouter, Navigate, useLocation } from 'react-router';
import { Loading } from '@/components/Feedback';
import { t } from '@/lib/i18n';
import { hasRole, useSession } from '@/lib/useSession';
import { Layout } from './Layout';
import { Home } from './routes/Home';
import { EventPage } from './routes/EventPage';
import { LoginPage, RegisterPage } from './routes/Auth';
import { AccountPage, BookingsPage, NotificationsPage, TicketsPage } from './routes/Me';

// The organiser console, the admin pages and the door scanner (with charts, QR decoding and
// Ed25519) are separate chunks: the event page's first load carries none of them.
const OrganizerPage = lazy(() => import('./routes/Organizer'));
const OrganizerEventPage = lazy(() => import('./routes/OrganizerEvent'));
const AdminPage = lazy(() => import('./routes/AdminPage'));
const DoorPage = lazy(() => import('./routes/DoorPage'));

function RequireAuth({ children, roles }: { children: ReactNode; roles?: string[] }) {
  const { status, user } = useSession();
  const location = useLocation();
  if (status === 'restoring') return <Loading />;
  if (!user) return <Navigate to={`/login?next=${encodeURIComponent(location.pathname + location.search)}`} replace />;
  if (roles && !hasRole(user.role, ...roles)) return <Navigate to="/" replace />;
  return <Suspense fallback={<Loading />}>{children}</Suspense>;
}

function RouteError() {
  return (
    <main className="page">
      <div className="card" role="alert">
        <h1>{t.app.error}</h1>
        <p><a href={window.location.pathname}>{t.app.retry}</a> · <a href="/">{t.app.backHome}</a></p>
      </div>
    </main>
  );
}

function NotFound() {
  return (
    <div className="card">
      <h1>{t.app.notFound}</h1>
      <a href="/">{t.app.backHome}</a>
    </div>
  );
}

export const router = createBrowserRouter([
  {
    element: <Layout />,
    errorElement: <RouteError />,
    children: [
      { path: '/', element: <Home /> },
      { path: '/events/:id', element: <EventPage /> },
      { path: '/login', element: <LoginPage /> },
      { path: '/register', element: <RegisterPage /> },
      { path: '/me/bookings', element: <RequireAuth><BookingsPage /></RequireAuth> },
      { path: '/me/tickets', element: <RequireAuth><TicketsPage /></RequireAuth> },
      { path: '/me/notifications', element: <RequireAuth><NotificationsPage /></RequireAuth> },
      { path: '/me/account', element: <RequireAuth><AccountPage /></RequireAuth> },
      { path: '/organizer', element: <RequireAuth roles={['organizer']}><OrganizerPage /></RequireAuth> },
      { path: '/organizer/events/:id', element: <RequireAuth roles={['organizer']}><OrganizerEventPage /></RequireAuth> },
      { path: '/admin', element: <RequireAuth roles={['admin']}><AdminPage /></RequireAuth> },
      { path: '/door', element: <RequireAuth roles={['organizer']}><DoorPage /></RequireAuth> },
      { path: '/door/:id', element: <RequireAuth roles={['organizer']}><DoorPage /></RequireAuth> },
      { path: '*', element: <NotFound /> },
    ],
  },
]);
