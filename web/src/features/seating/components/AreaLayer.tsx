import { memo } from 'react';
import type { AreaOut } from '@/lib/api/types';

/** A shape's outline, anchored at the origin (the group is moved to the area's anchor). */
function Shape({ area }: { area: AreaOut }) {
  const paint = { fill: area.color ?? '#d7dae3', stroke: area.border_color ?? 'none' };
  switch (area.shape) {
    case 'rectangle':
      return <rect className="seat-area-shape" width={area.width ?? 0} height={area.height ?? 0} {...paint} />;
    case 'circle':
    case 'ellipse':
      return <ellipse className="seat-area-shape" rx={area.radius_x ?? 0} ry={area.radius_y ?? 0} {...paint} />;
    case 'polygon':
      return <polygon className="seat-area-shape" points={area.points.map((p) => `${p.x},${p.y}`).join(' ')} {...paint} />;
    default:
      return null;
  }
}

/**
 * What the plan draws around its seats (the stage, a bar, labels), under the seats. Decoration:
 * hidden from screen readers, which have the list of seats; the stage's direction is in the hint.
 */
export const AreaLayer = memo(function AreaLayer({ areas }: { areas: AreaOut[] }) {
  return (
    <g className="seat-areas" aria-hidden="true">
      {areas.map((a, i) => (
        <g key={i} transform={`translate(${a.x} ${a.y}) rotate(${a.rotation})`}>
          <Shape area={a} />
          {a.text && (
            <text x={a.text.x} y={a.text.y} fontSize={a.text.size} fill={a.text.color ?? '#374151'} textAnchor="middle" dominantBaseline="central">
              {a.text.text}
            </text>
          )}
        </g>
      ))}
    </g>
  );
});
