import { describe, expect, it } from "vitest";
import { niceMax, shortNumber } from "./chart";

describe("chart scale and labels", () => {
  it("rounds the axis up to 1, 2 or 5 times a power of ten", () => {
    expect([niceMax(0), niceMax(7), niceMax(1200), niceMax(5440000), niceMax(2000)]).toEqual([
      1, 10, 2000, 10000000, 2000,
    ]);
  });

  it("labels the axis in whole millions where it can, one decimal where it cannot", () => {
    expect([0, 500, 40000, 2000000, 2500000, -1500000].map(shortNumber)).toEqual([
      "0",
      "500",
      "40k",
      "2M",
      "2.5M",
      "-1.5M",
    ]);
  });
});
