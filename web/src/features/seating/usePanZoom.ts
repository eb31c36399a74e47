// Zoom and pan of an SVG by pointer events: drag with one pointer, pinch with two, the wheel
// (which leaves the page to scroll when the map is already whole), and buttons. A drag is not a
// click: `dragged()` tells the click that ends one to do nothing.
import { useEffect, useRef, useState, type PointerEvent, type RefObject } from 'react';
import { WHOLE, panBy, reveal, zoomAt, type Size, type View } from './viewport';

const DRAG = 6; // pixels a pointer moves before a press becomes a drag

interface Point {
  x: number;
  y: number;
}

const mid = (a: Point, b: Point) => ({ x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 });
const dist = (a: Point, b: Point) => Math.hypot(a.x - b.x, a.y - b.y);

/** A point of the page in the SVG's units, and how many of those one pixel is. */
function toSvg(svg: SVGSVGElement | null, p: Point) {
  const ctm = svg?.getScreenCTM();
  if (!ctm) return { at: p, unit: 1 };
  const q = new DOMPoint(p.x, p.y).matrixTransform(ctm.inverse());
  return { at: { x: q.x, y: q.y }, unit: 1 / ctm.a };
}

export function usePanZoom(svg: RefObject<SVGSVGElement | null>, size: Size) {
  const [view, setView] = useState<View>(WHOLE);
  const zoomed = useRef(false);
  const pointers = useRef(new Map<number, Point>());
  const down = useRef<Point>({ x: 0, y: 0 });
  const moved = useRef(false);

  useEffect(() => {
    zoomed.current = view.k > 1;
  }, [view.k]);

  useEffect(() => {
    const el = svg.current;
    if (!el) return;
    const onWheel = (e: WheelEvent) => {
      const delta = e.deltaY * (e.deltaMode === 1 ? 16 : 1);
      if (delta > 0 && !zoomed.current) return; // nothing to zoom out of: the page scrolls
      e.preventDefault();
      const { at } = toSvg(el, { x: e.clientX, y: e.clientY });
      setView((v) => zoomAt(v, Math.exp(-delta * 0.002), at, size));
    };
    el.addEventListener('wheel', onWheel, { passive: false });
    return () => el.removeEventListener('wheel', onWheel);
  }, [svg, size]);

  function onPointerDown(e: PointerEvent<SVGSVGElement>) {
    if (e.pointerType === 'mouse' && e.button !== 0) return;
    const p = { x: e.clientX, y: e.clientY };
    pointers.current.set(e.pointerId, p);
    if (pointers.current.size === 1) {
      down.current = p;
      moved.current = false;
    }
  }

  function onPointerMove(e: PointerEvent<SVGSVGElement>) {
    const all = pointers.current;
    const before = all.get(e.pointerId);
    if (!before) return;
    const now = { x: e.clientX, y: e.clientY };
    if (all.size === 1) {
      if (!moved.current && dist(now, down.current) < DRAG) return;
      if (!moved.current) {
        moved.current = true;
        e.currentTarget.setPointerCapture(e.pointerId);
      }
      all.set(e.pointerId, now);
      const { unit } = toSvg(svg.current, now);
      setView((v) => panBy(v, (now.x - before.x) * unit, (now.y - before.y) * unit, size));
    } else if (all.size === 2) {
      const other = [...all].find(([id]) => id !== e.pointerId)![1];
      all.set(e.pointerId, now);
      moved.current = true;
      const from = mid(before, other);
      const to = mid(now, other);
      const { at, unit } = toSvg(svg.current, to);
      const factor = dist(now, other) / Math.max(1, dist(before, other));
      setView((v) => panBy(zoomAt(v, factor, at, size), (to.x - from.x) * unit, (to.y - from.y) * unit, size));
    }
  }

  function onPointerEnd(e: PointerEvent<SVGSVGElement>) {
    pointers.current.delete(e.pointerId);
  }

  /** Zooms about the middle of the map. */
  const zoomBy = (factor: number) => setView((v) => zoomAt(v, factor, { x: size.width / 2, y: size.height / 2 }, size));

  return {
    view,
    handlers: { onPointerDown, onPointerMove, onPointerUp: onPointerEnd, onPointerCancel: onPointerEnd },
    /** Whether the press that ends with this click dragged the map (then it chooses nothing). */
    dragged: () => moved.current,
    zoomBy,
    reset: () => setView(WHOLE),
    /** Brings a point of the plan into sight (the seat the keyboard moved to). */
    show: (p: Point) => setView((v) => reveal(v, p, size, Math.min(size.width, size.height) * 0.05)),
  };
}
