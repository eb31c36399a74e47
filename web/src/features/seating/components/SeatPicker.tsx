import { useId, useMemo, useRef, useState, type KeyboardEvent, type MouseEvent } from 'react';
import type { SeatMapOut, SeatOut } from '@/lib/api/types';
import { t } from '@/lib/i18n';
import { nextSeat, seatIndex, type Direction } from '../seatMap';
import { usePanZoom } from '../usePanZoom';
import { AreaLayer } from './AreaLayer';
import { SeatLayer } from './SeatLayer';
import { SeatLegend } from './SeatLegend';

const KEYS: Record<string, Direction> = { ArrowLeft: 'left', ArrowRight: 'right', ArrowUp: 'up', ArrowDown: 'down' };

/** The plan's frame: its size, grown to hold every seat, the row labels left of them and the areas. */
function frameOf(map: SeatMapOut) {
  let [x0, y0, x1, y1] = [0, 0, map.size.width, map.size.height];
  for (const a of map.areas ?? []) {
    const rx = a.radius_x ?? 0;
    const ry = a.radius_y ?? 0;
    const xs = [a.x - rx, a.x + rx + (a.width ?? 0), ...a.points.map((p) => a.x + p.x)];
    const ys = [a.y - ry, a.y + ry + (a.height ?? 0), ...a.points.map((p) => a.y + p.y)];
    if (a.text) {
      xs.push(a.x + a.text.x);
      ys.push(a.y + a.text.y - a.text.size, a.y + a.text.y + a.text.size);
    }
    x0 = Math.min(x0, ...xs);
    y0 = Math.min(y0, ...ys);
    x1 = Math.max(x1, ...xs);
    y1 = Math.max(y1, ...ys);
  }
  for (const s of map.seats) {
    x0 = Math.min(x0, s.x - s.radius * 3.5);
    y0 = Math.min(y0, s.y - s.radius * 1.5);
    x1 = Math.max(x1, s.x + s.radius * 1.5);
    y1 = Math.max(y1, s.y + s.radius * 1.5);
  }
  return { x0, y0, width: Math.max(1, x1 - x0), height: Math.max(1, y1 - y0) };
}

/**
 * The seat map as an SVG: seats coloured by category, taken ones grey, chosen ones ticked,
 * wheelchair spaces square. Zoom and pan by drag, pinch and wheel (or the buttons); one tab stop,
 * the arrow keys move from seat to seat and Space or Enter chooses. Without `onToggle` it only
 * shows the map.
 */
export function SeatPicker({ map, selected = [], onToggle }: {
  map: SeatMapOut;
  selected?: string[];
  onToggle?: (seat: SeatOut) => void;
}) {
  const svg = useRef<SVGSVGElement>(null);
  const hint = useId();
  const frame = useMemo(() => frameOf(map), [map]);
  const size = useMemo(() => ({ width: frame.width, height: frame.height }), [frame]);
  const zoom = usePanZoom(svg, size);
  const [focused, setFocused] = useState<string>();
  const readOnly = !onToggle;
  const byId = seatIndex(map);
  const tabId = focused && byId.has(focused) ? focused : (map.seats.find((s) => s.status === 'free') ?? map.seats[0])?.id;

  const seatOf = (target: EventTarget) => {
    const el = (target as Element).closest?.('[data-seat]');
    return el ? byId.get(el.getAttribute('data-seat') ?? '') : undefined;
  };

  function click(e: MouseEvent<SVGSVGElement>) {
    if (zoom.dragged()) return;
    const seat = seatOf(e.target);
    if (seat && onToggle) onToggle(seat);
  }

  function key(e: KeyboardEvent<SVGSVGElement>) {
    const seat = seatOf(e.target);
    if (!seat) return;
    const direction = KEYS[e.key];
    if (direction) {
      e.preventDefault();
      const id = nextSeat(map, seat.id, direction);
      const to = id && byId.get(id);
      if (!to) return;
      setFocused(to.id);
      zoom.show({ x: to.x - frame.x0, y: to.y - frame.y0 });
      svg.current?.querySelector<SVGGElement>(`[data-seat="${CSS.escape(to.id)}"]`)?.focus();
    } else if ((e.key === ' ' || e.key === 'Enter') && onToggle) {
      e.preventDefault();
      onToggle(seat);
    }
  }

  const { k, x, y } = zoom.view;
  return (
    <div className="seat-picker">
      <div className="seat-zoom" role="group" aria-label={t.seating.zoom}>
        <button type="button" className="btn" title={t.seating.zoomIn} onClick={() => zoom.zoomBy(1.5)} disabled={k >= 8}>
          <span aria-hidden="true">+</span><span className="sr-only">{t.seating.zoomIn}</span>
        </button>
        <button type="button" className="btn" title={t.seating.zoomOut} onClick={() => zoom.zoomBy(1 / 1.5)} disabled={k <= 1}>
          <span aria-hidden="true">−</span><span className="sr-only">{t.seating.zoomOut}</span>
        </button>
        <button type="button" className="btn" title={t.seating.zoomReset} onClick={zoom.reset} disabled={k <= 1}>
          <span aria-hidden="true">⤢</span><span className="sr-only">{t.seating.zoomReset}</span>
        </button>
      </div>
      <svg
        ref={svg}
        className={readOnly ? 'seat-svg seat-svg-readonly' : 'seat-svg'}
        viewBox={`0 0 ${frame.width} ${frame.height}`}
        role="group"
        aria-label={t.seating.map}
        aria-describedby={hint}
        onClick={click}
        onKeyDown={key}
        onFocus={(e) => {
          const seat = seatOf(e.target);
          if (seat) setFocused(seat.id);
        }}
        {...zoom.handlers}
      >
        <rect className="seat-plan" width={frame.width} height={frame.height} />
        <g transform={`translate(${x} ${y}) scale(${k})`}>
          <g transform={`translate(${-frame.x0} ${-frame.y0})`}>
            <AreaLayer areas={map.areas ?? []} />
            <SeatLayer map={map} selected={selected} tabId={tabId} readOnly={readOnly} />
          </g>
        </g>
      </svg>
      <p id={hint} className="hint">{readOnly ? t.seating.mapHintReadOnly : t.seating.mapHint}</p>
      <SeatLegend map={map} readOnly={readOnly} />
    </div>
  );
}
