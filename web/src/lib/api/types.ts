// Names for the generated schemas the app uses.
import type { components } from './schema';

type S = components['schemas'];
export type EventOut = S['evently_gateway.routes.events.EventOut'];
export type BookingOut = S['evently_gateway.routes.bookings.BookingOut'];
export type WaitlistEntryOut = S['evently_gateway.routes.waitlist.WaitlistEntryOut'];
export type TicketOut = S['evently_gateway.routes.tickets.TicketOut'];
export type NotificationOut = S['evently_gateway.routes.notifications.NotificationOut'];
export type VenueOut = S['evently_gateway.routes.venues.VenueOut'];
export type EventAnalytics = S['evently_gateway.routes.analytics.EventAnalytics'];
export type Overview = S['evently_gateway.routes.analytics.Overview'];
export type Attendee = S['evently_gateway.routes.attendees.Attendee'];
export type Hour = S['evently_gateway.routes.analytics.Hour'];
export type TicketTypeOut = S['evently_gateway.routes.ticket_types.TicketTypeOut'];
