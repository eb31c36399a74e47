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

// Seat maps. Not in the generated schema yet (the seating API is being built): these mirror the
// OpenAPI schemas SeatMapOut, SeatingPlanOut, EventSeatingOut and the seat fields of BookingOut,
// TicketOut and CheckinOut, and should become `S['...']` names like the ones above once
// schema.d.ts has them.

/** Where a seat is, as a booking, a ticket and the door name it. */
export interface SeatRef {
  section?: string | null;
  row: string;
  number: string;
}

/** A seat of a booking. */
export interface BookedSeat extends SeatRef {
  id: string;
  ticket_type_id: string;
}

/** A booking, with the seats of a seated event's booking. */
export type SeatedBookingOut = BookingOut & { seats?: BookedSeat[] | null };

/** A ticket, with its seat for a seated event. */
export type SeatedTicketOut = TicketOut & { seat?: SeatRef | null };

export type SeatStatus = 'free' | 'held' | 'sold' | 'blocked';

/** One seat of an event's map (`GET /events/{id}/seats`): x, y in absolute plan coordinates. */
export interface SeatOut extends SeatRef {
  id: string;
  section: string;
  category: string;
  ticket_type_id: string;
  x: number;
  y: number;
  radius: number;
  status: SeatStatus;
  accessible: boolean;
  companion: boolean;
}

export interface SeatMapOut {
  plan_id: string;
  size: { width: number; height: number };
  focus: { x: number; y: number };
  categories: { name: string; color?: string | null; ticket_type_id: string }[];
  seats: SeatOut[];
  /** What the plan draws around the seats (the stage, a bar, labels). */
  areas?: AreaOut[];
}

/** A drawn shape of a seat map, anchored at x, y in plan coordinates. */
export interface AreaOut {
  shape: 'rectangle' | 'circle' | 'ellipse' | 'polygon' | 'text' | string;
  x: number;
  y: number;
  rotation: number;
  color?: string | null;
  border_color?: string | null;
  width?: number | null;
  height?: number | null;
  radius_x?: number | null;
  radius_y?: number | null;
  points: { x: number; y: number }[];
  text?: { x: number; y: number; text: string; size: number; color?: string | null } | null;
}

/** One change of `GET /events/{id}/seats/live` (events named `seats`: `{changes: [...]}`). */
export interface SeatChange {
  id: string;
  status: SeatStatus;
}

/** A venue's seating plan, as listed (`GET /venues/{venue_id}/seating-plans`). */
export interface SeatingPlanOut {
  id: string;
  venue_id: string;
  name: string;
  seat_count: number;
  categories: { name: string; color?: string | null }[];
  created_at: string;
}

/** An event's seating (`PUT /events/{id}/seating`): each category of the plan -> a ticket type id. */
export interface EventSeatingOut {
  plan_id: string;
  categories: Record<string, string>;
  seat_count: number;
}
