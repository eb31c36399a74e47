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

// Seat maps. The API documents a seat's `status` as one of four words; the app narrows it so that
// drawing and listing seats can switch over them.
export type SeatStatus = 'free' | 'held' | 'sold' | 'blocked';

/** Where a seat is, as a ticket and the door name it. */
export type SeatRef = S['evently_gateway.routes.tickets.TicketSeatOut'];

/** One seat of an event's map (`GET /events/{id}/seats`): x, y in absolute plan coordinates. */
export type SeatOut = Omit<S['evently_gateway.routes.seating.seats.SeatOut'], 'status'> & { status: SeatStatus };

export type SeatMapOut = Omit<S['evently_gateway.routes.seating.seats.SeatMapOut'], 'seats'> & { seats: SeatOut[] };

/** A drawn shape of a seat map (the stage, a bar, labels), anchored at x, y in plan coordinates. */
export type AreaOut = S['evently_gateway.routes.seating.areas.AreaOut'];

/** One change of `GET /events/{id}/seats/live` (events named `seats`: `{changes: [...]}`); an
 * event-stream payload, so not in the OpenAPI document. */
export interface SeatChange {
  id: string;
  status: SeatStatus;
}

/** A venue's seating plan, as listed (`GET /venues/{venue_id}/seating-plans`). */
export type SeatingPlanOut = S['evently_gateway.routes.seating.plans.SeatingPlanOut'];

/** An event's seating (`PUT /events/{id}/seating`): each category of the plan -> a ticket type id. */
export type EventSeatingOut = S['evently_gateway.routes.seating.event_seating.SeatingOut'];
