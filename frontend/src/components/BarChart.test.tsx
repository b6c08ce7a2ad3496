import { render } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { BarChart } from "./BarChart";

const SERIES = [
  { key: "target", label: "Target", color: "#aaa" },
  { key: "actual", label: "Actual", color: "#00f" },
];

describe("BarChart", () => {
  it("draws one bar per series and group, heights in proportion to the values", () => {
    const { container } = render(
      <BarChart
        title="Revenue"
        series={SERIES}
        groups={[
          { label: "France", values: { target: 1000, actual: 250 } },
          { label: "UK", values: { target: 500, actual: 1000 } },
        ]}
      />,
    );

    const bars = [...container.querySelectorAll("rect[data-series]")];
    expect(bars).toHaveLength(4);
    const height = (group: string, series: string) =>
      Number(
        container
          .querySelector(`[data-group="${group}"] rect[data-series="${series}"]`)!
          .getAttribute("height"),
      );
    expect(height("France", "actual") * 4).toBeCloseTo(height("France", "target"));
    expect(height("UK", "target") * 2).toBeCloseTo(height("UK", "actual"));
    expect(container.querySelector("svg title")!.textContent).toBe("Revenue");
    expect(container.querySelector('[data-group="UK"] rect title')!.textContent).toBe("UK — Target: 500");
  });

  it("leaves out a bar whose value is unknown, rather than drawing it as zero", () => {
    const { container } = render(
      <BarChart
        title="Revenue"
        series={SERIES}
        groups={[{ label: "UK", values: { target: null, actual: 10 } }]}
      />,
    );

    expect(
      [...container.querySelectorAll("rect[data-series]")].map((r) => r.getAttribute("data-series")),
    ).toEqual(["actual"]);
  });

  it("names each series in a legend", () => {
    const { container } = render(<BarChart title="Revenue" series={SERIES} groups={[]} />);
    expect(container.querySelector("figcaption")!.textContent).toBe(" Target Actual");
  });
});
