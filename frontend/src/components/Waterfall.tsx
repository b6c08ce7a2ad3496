// A waterfall in plain SVG, as BarChart: the start, one floating bar per step (up or down from
// where the previous one ended), the end. Rises and falls differ in colour and in their
// labels' sign, so the chart reads without colour too; every step is a button.

import type { KeyboardEvent } from "react";

export type Step = { key: string; label: string; value: number };
export type Bar = Step & { kind: "start" | "step" | "end"; from: number; to: number };

const WIDTH = 760;
const HEIGHT = 240;
const MARGIN = { top: 24, right: 16, bottom: 40, left: 72 };
const COLORS = { start: "#6e7781", end: "#6e7781", up: "#2da44e", down: "#cf222e" };

/** The bars of a waterfall: each step starts where the previous ended; the end bar is the last total. */
export function waterfallBars(start: Step, steps: Step[], end: Step): { bars: Bar[]; reached: number } {
  const bars: Bar[] = [{ ...start, kind: "start", from: 0, to: start.value }];
  let level = start.value;
  for (const step of steps) {
    bars.push({ ...step, kind: "step", from: level, to: level + step.value });
    level += step.value;
  }
  bars.push({ ...end, kind: "end", from: 0, to: end.value });
  return { bars, reached: level };
}

export function Waterfall({
  title,
  start,
  steps,
  end,
  format,
  selected,
  onSelect,
}: {
  title: string;
  start: Step;
  steps: Step[];
  end: Step;
  /** A value in words: "1,200" for an amount, the sign added here for steps. */
  format: (value: number) => string;
  selected?: string;
  onSelect?: (step: Step) => void;
}) {
  const { bars } = waterfallBars(start, steps, end);
  const levels = bars.flatMap((b) => [b.from, b.to]);
  const low = Math.min(0, ...levels);
  const high = Math.max(0, ...levels);
  const span = high - low || 1;
  const innerW = WIDTH - MARGIN.left - MARGIN.right;
  const innerH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const y = (v: number) => MARGIN.top + ((high - v) / span) * innerH;
  const slot = innerW / bars.length;
  const barW = slot * 0.7;
  const signed = (v: number) => (v > 0 ? `+${format(v)}` : v < 0 ? `−${format(-v)}` : format(0));

  return (
    <figure className="chart waterfall">
      <svg viewBox={`0 0 ${WIDTH} ${HEIGHT}`} role="group" aria-label={title}>
        <title>{title}</title>
        <line x1={MARGIN.left} x2={WIDTH - MARGIN.right} y1={y(0)} y2={y(0)} stroke="#6c757d" />
        {bars.map((bar, i) => {
          const x = MARGIN.left + i * slot + (slot - barW) / 2;
          const top = y(Math.max(bar.from, bar.to));
          const height = Math.max(1, Math.abs(y(bar.from) - y(bar.to)));
          const isStep = bar.kind === "step";
          const direction = bar.value > 0 ? "up" : bar.value < 0 ? "down" : "flat";
          const color = isStep
            ? bar.value < 0
              ? COLORS.down
              : COLORS.up
            : COLORS[bar.kind as "start" | "end"];
          const amount = isStep ? signed(bar.value) : format(bar.value);
          const name = `${bar.label}: ${amount}`;
          const select = () => onSelect?.(bar);
          return (
            <g
              key={bar.key}
              data-bar={bar.key}
              data-kind={bar.kind}
              data-direction={isStep ? direction : undefined}
              {...(isStep && onSelect
                ? {
                    role: "button",
                    tabIndex: 0,
                    "aria-label": name,
                    "aria-pressed": selected === bar.key,
                    onClick: select,
                    onKeyDown: (e: KeyboardEvent) => {
                      if (e.key === "Enter" || e.key === " ") {
                        e.preventDefault();
                        select();
                      }
                    },
                    style: { cursor: "pointer" },
                  }
                : { role: "img", "aria-label": name })}
            >
              <rect
                x={x}
                y={top}
                width={barW}
                height={height}
                fill={color}
                stroke={selected === bar.key ? "#1f2328" : "none"}
                strokeWidth={2}
              />
              <text x={x + barW / 2} y={top - 6} textAnchor="middle" fontSize="11">
                {amount}
              </text>
              <text x={x + barW / 2} y={HEIGHT - MARGIN.bottom + 18} textAnchor="middle" fontSize="12">
                {bar.label}
              </text>
            </g>
          );
        })}
      </svg>
    </figure>
  );
}
