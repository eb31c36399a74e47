import { useEffect, useRef, useState } from 'react';
import { Link, NavLink, Outlet, ScrollRestoration, useLocation, useNavigate } from 'react-router';
import { useNotifications } from '@/features/notifications/api';
import { t } from '@/lib/i18n';
import { logout } from '@/lib/session';
import { hasRole, useSession } from '@/lib/useSession';
import { LiveUpdates } from './LiveUpdates';

function UnreadBadge() {
  const unread = useNotifications(true);
  const n = unread.data?.items.length ?? 0;
  if (!n) return null;
  return <span className="count" aria-label={t.nav.unread(n)}>{n}</span>;
}

export function Layout() {
  const { user, status } = useSession();
  const [open, setOpen] = useState(false);
  const location = useLocation();
  const navigate = useNavigate();
  const main = useRef<HTMLElement>(null);
  const first = useRef(true);
  useEffect(() => {
    setOpen(false);
    // After a navigation, move the focus to the new page (screen readers announce it).
    if (first.current) first.current = false;
    else main.current?.focus({ preventScroll: true });
  }, [location.pathname]);

  return (
    <>
      <a className="skip" href="#main">{t.app.skip}</a>
      <header className="top">
        <div className="top-inner">
          <Link to="/" className="brand">
            <img src="/icons/icon.svg" alt="" width={28} height={28} />
            <span>{t.app.name}</span>
          </Link>
          <button type="button" className="btn menu-toggle" aria-expanded={open} aria-controls="main-nav" onClick={() => setOpen(!open)}>
            {t.nav.menu}
          </button>
          <nav id="main-nav" aria-label={t.nav.main} className={open ? 'nav nav-open' : 'nav'}>
            <NavLink to="/" end>{t.nav.events}</NavLink>
            {user && (
              <>
                <NavLink to="/me/bookings">{t.nav.bookings}</NavLink>
                <NavLink to="/me/tickets">{t.nav.tickets}</NavLink>
                <NavLink to="/me/notifications">
                  {t.nav.notifications} <UnreadBadge />
                </NavLink>
                <NavLink to="/me/account">{t.nav.account}</NavLink>
              </>
            )}
            {hasRole(user?.role, 'organizer') && (
              <>
                <NavLink to="/organizer">{t.nav.organizer}</NavLink>
                <NavLink to="/door">{t.nav.door}</NavLink>
              </>
            )}
            {user?.role === 'admin' && <NavLink to="/admin">{t.nav.admin}</NavLink>}
            {status === 'anonymous' && (
              <>
                <NavLink to="/login">{t.nav.login}</NavLink>
                <NavLink to="/register" className="btn btn-primary nav-cta">{t.nav.register}</NavLink>
              </>
            )}
            {user && (
              <button type="button" className="btn btn-link" onClick={() => void logout().then(() => navigate('/'))}>
                {t.nav.logout}
              </button>
            )}
          </nav>
        </div>
      </header>
      {user && <LiveUpdates userId={user.id} />}
      <main id="main" ref={main} tabIndex={-1} className="page">
        <Outlet />
      </main>
      <footer className="foot">
        <p>{t.app.name} · {t.app.tagline}</p>
      </footer>
      <ScrollRestoration />
    </>
  );
}
