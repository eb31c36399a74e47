// The seat map's zoom and pan, as pure functions over a view: plan point p shows at p * k + (x, y)
// in the SVG's own units (its viewBox is the plan's size). The view never zooms out past the
// whole plan nor pans it out of sight.

export interface View {
  k: number;
  x: number;
  y: number;
}

export interface Size {
  width: number;
  height: number;
}

export const WHOLE: View = { k: 1, x: 0, y: 0 };
export const MAX_ZOOM = 8;

const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));

export function clampView(view: View, size: Size): View {
  const k = clamp(view.k, 1, MAX_ZOOM);
  return { k, x: clamp(view.x, size.width * (1 - k), 0), y: clamp(view.y, size.height * (1 - k), 0) };
}

/** Zooms by `factor` keeping the point `at` (SVG units) where it is. */
export function zoomAt(view: View, factor: number, at: { x: number; y: number }, size: Size): View {
  const k = clamp(view.k * factor, 1, MAX_ZOOM);
  const r = k / view.k;
  return clampView({ k, x: at.x - (at.x - view.x) * r, y: at.y - (at.y - view.y) * r }, size);
}

export function panBy(view: View, dx: number, dy: number, size: Size): View {
  return clampView({ ...view, x: view.x + dx, y: view.y + dy }, size);
}

/** The view moved so that a plan point out of sight (or within `margin` of the edge) shows in the middle. */
export function reveal(view: View, point: { x: number; y: number }, size: Size, margin = 0): View {
  const sx = point.x * view.k + view.x;
  const sy = point.y * view.k + view.y;
  const inside = sx >= margin && sx <= size.width - margin && sy >= margin && sy <= size.height - margin;
  if (inside) return view;
  return clampView({ k: view.k, x: size.width / 2 - point.x * view.k, y: size.height / 2 - point.y * view.k }, size);
}
