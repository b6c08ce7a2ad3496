import { screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import type { AreaMovement, DealMovement, Measures, Movement } from "../api";
import { waterfallBars } from "../components/Waterfall";
import { apiError, mockApi, renderWithQuery } from "../test-utils";
import { defaultWindow, MovementPage } from "./Movement";

const m = (open_count: number, open_mrr: string, weighted_pipeline: string): Measures => ({
  open_count,
  open_mrr,
  weighted_pipeline,
});
const zero = m(0, "0.00", "0.00");

const won: DealMovement = {
  oid: "d6c9d7d69dae5a26a5f889337c23e780",
  opportunity_name: "Payroll expansion - Aare Treuhand AG",
  area: "Switzerland",
  at_from: {
    cid: 3035,
    area: "Switzerland",
    status: "Negotiation",
    est_monthly_revenue: "6100.00",
    probability: 75,
    expected_close_date: "2025-02-04",
    open_count: 1,
    open_mrr: "6100.00",
    weighted_pipeline: "18300.00",
  },
  at_to: {
    cid: 3035,
    area: "Switzerland",
    status: "Closed Won",
    est_monthly_revenue: "6100.00",
    probability: 100,
    expected_close_date: "2025-02-04",
    open_count: 0,
    open_mrr: "0.00",
    weighted_pipeline: "24400.00",
  },
};

// Switzerland of the documented demo example (docs/forecast.md), the buckets in the API's order.
function switzerland(withDeals: boolean): AreaMovement {
  const buckets = {
    new: m(1, "2000.00", "3000.00"),
    deleted: zero,
    won: m(-1, "-6100.00", "6100.00"),
    lost: zero,
    slipped: m(-1, "-11950.00", "-7170.00"),
    pulled_in: m(0, "0.00", "2660.00"),
    increased: m(0, "600.00", "1200.00"),
    decreased: zero,
    unexplained: zero,
  };
  const none = Object.fromEntries(
    Object.keys(buckets).map((b) => [b, []]),
  ) as unknown as AreaMovement["deals"];
  return {
    area: "Switzerland",
    start: m(7, "59650.00", "39085.00"),
    buckets,
    end: m(6, "44200.00", "44875.00"),
    ...(withDeals ? { deals: { ...none!, won: [won] } } : {}),
  };
}

function movement(from = "2024-12-02", to = "2024-12-13"): Movement {
  return {
    fiscal_year: 2025,
    from,
    to,
    areas: [switzerland(true)],
    total: { ...switzerland(false), area: "Total" },
  };
}

const chart = (name: RegExp) => screen.getByRole("group", { name });

describe("waterfallBars", () => {
  it("starts each step where the previous ended, so the last step reaches the end", () => {
    const row = switzerland(false);
    const steps = Object.entries(row.buckets).map(([key, v]) => ({
      key,
      label: key,
      value: Number(v.open_mrr),
    }));
    const { bars, reached } = waterfallBars({ key: "start", label: "start", value: 59650 }, steps, {
      key: "end",
      label: "end",
      value: 44200,
    });
    expect(reached).toBeCloseTo(44200, 6);
    expect(bars.map((b) => [b.key, b.from, b.to])).toEqual([
      ["start", 0, 59650],
      ["new", 59650, 61650],
      ["deleted", 61650, 61650],
      ["won", 61650, 55550],
      ["lost", 55550, 55550],
      ["slipped", 55550, 43600],
      ["pulled_in", 43600, 43600],
      ["increased", 43600, 44200],
      ["decreased", 44200, 44200],
      ["unexplained", 44200, 44200],
      ["end", 0, 44200],
    ]);
  });
});

describe("MovementPage", () => {
  it("asks for the last two weeks by default, in today's fiscal year", async () => {
    const calls = mockApi(() => [200, movement("2026-11-18", "2026-12-02")]);
    renderWithQuery(<MovementPage today={new Date("2026-12-02T09:00:00Z")} />);

    await screen.findByText(/the pipeline when 2026-11-18 began/);
    expect(defaultWindow(new Date("2025-03-15T00:00:00Z"))).toEqual({
      fiscal_year: 2025,
      from: "2025-03-01",
      to: "2025-03-15",
    });
    expect(calls.map((c) => c.url.pathname + c.url.search)).toEqual([
      "/api/forecast/movement?fiscal_year=2027&from=2026-11-18&to=2026-12-02&detail=true",
    ]);
    expect(screen.getByLabelText<HTMLInputElement>("From").value).toBe("2026-11-18");
    expect(screen.getByLabelText<HTMLInputElement>("To").value).toBe("2026-12-02");
  });

  it("draws start, each bucket in the API's order and end, signed, for the measure chosen", async () => {
    mockApi(() => [200, movement()]);
    renderWithQuery(<MovementPage today={new Date("2024-12-13T12:00:00Z")} />);

    const swiss = await screen.findByRole("group", { name: /^Switzerland: Weighted pipeline/ });
    const labels = [...swiss.querySelectorAll("[data-bar]")].map((g) => g.getAttribute("aria-label"));
    expect(labels).toEqual([
      "start: 39,085",
      "new: +3,000",
      "deleted: 0",
      "won: +6,100",
      "lost: 0",
      "slipped: −7,170",
      "pulled in: +2,660",
      "increased: +1,200",
      "decreased: 0",
      "unexplained: 0",
      "end: 44,875",
    ]);
    expect(swiss.querySelector('[data-bar="slipped"]')?.getAttribute("data-direction")).toBe("down");
    expect(swiss.querySelector('[data-bar="won"]')?.getAttribute("data-direction")).toBe("up");

    await userEvent.setup().selectOptions(screen.getByLabelText("Measure"), "Open deals (count)");
    const counts = chart(/^Switzerland: Open deals/);
    expect(within(counts).getByRole("button", { name: "won: −1" })).toBeTruthy();
    expect(within(counts).getByRole("img", { name: "end: 6" })).toBeTruthy();
  });

  it("lists a bar's deals with their values at from and at to when it is clicked", async () => {
    mockApi(() => [200, movement()]);
    renderWithQuery(<MovementPage today={new Date("2024-12-13T12:00:00Z")} />);
    const user = userEvent.setup();

    const swiss = await screen.findByRole("group", { name: /^Switzerland: Weighted pipeline/ });
    await user.click(within(swiss).getByRole("button", { name: "won: +6,100" }));

    const table = screen.getByRole("table", { name: "Switzerland: deals won" });
    const cells = within(table)
      .getAllByRole("row")
      .slice(1)
      .map((r) => [...r.querySelectorAll("th, td")].map((c) => c.textContent));
    expect(cells).toEqual([
      [
        "Payroll expansion - Aare Treuhand AG",
        "d6c9d7d69dae5a26a5f889337c23e780",
        "Switzerland",
        "Negotiation",
        "18,300.00",
        "Closed Won",
        "24,400.00",
      ],
    ]);
    // The total lists every area's deals of the bucket; a bucket without deals says so.
    const total = chart(/^Total: Weighted pipeline/);
    await user.click(within(total).getByRole("button", { name: "lost: 0" }));
    expect(
      within(screen.getByRole("table", { name: "Total: deals lost" })).getByText("No deal moved this way."),
    ).toBeTruthy();
    await user.click(within(total).getByRole("button", { name: "won: +6,100" }));
    expect(within(screen.getByRole("table", { name: "Total: deals won" })).getByText(won.oid)).toBeTruthy();
  });

  it("names the first day that can be answered when from is before the history", async () => {
    const calls = mockApi((url) =>
      url.searchParams.get("from") === "2024-11-01"
        ? [
            400,
            {
              ...apiError(
                "invalid",
                "The change history starts on 2024-12-02: from must be 2024-12-02 or later.",
                "from",
              ),
              type: "validation_error",
            },
          ]
        : [200, movement()],
    );
    renderWithQuery(<MovementPage today={new Date("2024-12-13T12:00:00Z")} />);
    const user = userEvent.setup();
    await screen.findByRole("group", { name: /^Total/ });

    const from = screen.getByLabelText("From");
    await user.clear(from);
    await user.type(from, "2024-11-01");
    await user.click(screen.getByRole("button", { name: "Show" }));

    const alert = await screen.findByRole("alert");
    expect(alert.textContent).toContain("from must be 2024-12-02 or later");
    expect(calls.at(-1)?.url.searchParams.get("from")).toBe("2024-11-01");
  });
});
