import { screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import type { Forecast, ForecastRow, ForecastSnapshot } from "../api";
import { mockApi, renderWithQuery } from "../test-utils";
import { ForecastPage } from "./Forecast";

function row(area: string, target: string | null, actuals: string, projected: string): ForecastRow {
  return {
    area,
    target,
    actuals_to_date: actuals,
    last_actual_month: "2024-11-01",
    run_rate: "0.00",
    remaining_months: 7,
    run_rate_projection: "0.00",
    weighted_pipeline: "0.00",
    projected_total: projected,
    gap_to_target: target === null ? null : (Number(target) - Number(projected)).toFixed(2),
    attainment_pct: null,
    projected_attainment_pct:
      target === null ? null : ((100 * Number(projected)) / Number(target)).toFixed(1),
    open_pipeline_count: 3,
    open_pipeline_mrr: "0.00",
  };
}

function forecast(fiscal_year: number, as_of: string): Forecast {
  return {
    fiscal_year,
    as_of,
    areas: [row("France", "1000000.00", "400000.00", "900000.00"), row("UK", null, "50000.00", "120000.00")],
    total: row("Total", "1000000.00", "450000.00", "1020000.00"),
  };
}

describe("ForecastPage", () => {
  it("charts target, actuals and projection per area and states each gap in words", async () => {
    mockApi((url) => [200, url.pathname.endsWith("/snapshots") ? [] : forecast(2025, "2024-12-15")]);
    const { container } = renderWithQuery(<ForecastPage />);

    expect(await screen.findByText("FY2025 (July 2024 – June 2025), as of 2024-12-15.")).toBeTruthy();
    expect(container.querySelectorAll('[data-group="France"] rect[data-series]')).toHaveLength(3);
    // No target: no target bar, and the gap says why it is missing.
    expect(
      [...container.querySelectorAll('[data-group="UK"] rect[data-series]')].map((r) =>
        r.getAttribute("data-series"),
      ),
    ).toEqual(["actuals_to_date", "projected_total"]);
    const cells = (area: string) =>
      within(screen.getByRole("rowheader", { name: area }).closest("tr")!)
        .getAllByRole("cell")
        .map((c) => c.textContent);
    expect(cells("France")).toEqual(["1,000,000", "400,000", "900,000", "100,000 short", "90.0 %", "3"]);
    expect(cells("UK")).toEqual(["—", "50,000", "120,000", "no target", "—", "3"]);
    expect(cells("Total")).toEqual(["1,000,000", "450,000", "1,020,000", "20,000 ahead", "102.0 %", "3"]);
  });

  it("starts from the server's default period and asks for the year chosen, as of its default date", async () => {
    const calls = mockApi((url) => [
      200,
      url.pathname.endsWith("/snapshots")
        ? []
        : forecast(
            Number(url.searchParams.get("fiscal_year") ?? 2025),
            url.searchParams.get("as_of") ?? "2024-12-15",
          ),
    ]);
    renderWithQuery(<ForecastPage />);
    const year = await screen.findByLabelText<HTMLInputElement>("Fiscal year");
    await screen.findByText(/as of 2024-12-15/);
    expect(year.value).toBe("2025");
    expect(screen.getByLabelText<HTMLInputElement>("As of").value).toBe("2024-12-15");

    const user = userEvent.setup();
    await user.clear(year);
    await user.type(year, "2026");
    await user.click(screen.getByRole("button", { name: "Show" }));

    expect(await screen.findByText(/^FY2026/)).toBeTruthy();
    const forecasts = calls.filter((c) => c.url.pathname === "/api/forecast");
    expect(forecasts.map((c) => c.url.search)).toEqual(["", "?fiscal_year=2026"]);
  });

  it("draws each area's projected total from the stored daily forecasts as a line", async () => {
    const snap = (area: string, as_of: string, projected: string): ForecastSnapshot => ({
      ...row(area, null, "0.00", projected),
      fiscal_year: 2025,
      as_of,
      taken_at: `${as_of}T06:00:00Z`,
    });
    const calls = mockApi((url) => [
      200,
      url.pathname.endsWith("/snapshots")
        ? [
            snap("France", "2024-12-01", "900000.00"),
            snap("UK", "2024-12-01", "100000.00"),
            snap("Total", "2024-12-01", "1000000.00"),
            snap("France", "2024-12-02", "910000.00"),
            snap("UK", "2024-12-02", "120000.00"),
            snap("Total", "2024-12-02", "1030000.00"),
          ]
        : forecast(2025, "2024-12-15"),
    ]);
    const { container } = renderWithQuery(<ForecastPage />);

    expect(await screen.findByText("Projected total per area, day by day")).toBeTruthy();
    const points = (area: string) =>
      [...container.querySelectorAll(`[data-line="${area}"] circle`)].map((c) => c.textContent);
    expect(points("France")).toEqual(["France, 2024-12-01: 900,000", "France, 2024-12-02: 910,000"]);
    expect(points("UK")).toEqual(["UK, 2024-12-01: 100,000", "UK, 2024-12-02: 120,000"]);
    expect(container.querySelector('[data-line="Total"]')).toBeNull();
    expect(calls.find((c) => c.url.pathname === "/api/forecast/snapshots")?.url.search).toBe(
      "?fiscal_year=2025",
    );
  });

  it("says when no daily forecast is stored yet", async () => {
    mockApi((url) => [200, url.pathname.endsWith("/snapshots") ? [] : forecast(2025, "2024-12-15")]);
    renderWithQuery(<ForecastPage />);

    expect(await screen.findByText(/No daily forecast of FY2025 is stored yet/)).toBeTruthy();
  });

  it("shows the server's message for a refused period", async () => {
    mockApi(() => [
      400,
      {
        type: "validation_error",
        errors: [
          {
            code: "max_value",
            detail: "Ensure this value is less than or equal to 2100.",
            attr: "fiscal_year",
          },
        ],
      },
    ]);
    renderWithQuery(<ForecastPage />);

    expect((await screen.findByRole("alert")).textContent).toContain("less than or equal to 2100");
  });
});
