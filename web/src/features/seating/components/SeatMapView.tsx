import { Loading } from '@/components/Feedback';
import { useSeatMap } from '../api';
import { SeatPicker } from './SeatPicker';

/** The event's seat map to look at (the live stream, where it is followed, keeps it current). */
export function SeatMapView({ eventId }: { eventId: string }) {
  const map = useSeatMap(eventId);
  if (map.isPending) return <Loading />;
  return map.data ? <SeatPicker map={map.data} /> : null;
}
