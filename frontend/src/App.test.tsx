import { screen } from "@testing-library/react";
import { afterEach, describe, expect, it } from "vitest";
import { App } from "./App";
import { mockApi, renderWithQuery, VOCABULARY } from "./test-utils";

function api() {
  return mockApi((url) => {
    if (url.pathname === "/api/vocabulary") return [200, VOCABULARY];
    if (url.pathname === "/api/forecast") return [401, { type: "client_error", errors: [] }];
    return [200, []];
  });
}

describe("App", () => {
  afterEach(() => {
    window.location.hash = "";
    document.cookie = "csrftoken=; expires=Thu, 01 Jan 1970 00:00:00 GMT";
  });

  it("opens on the customers and fills the area filter from the vocabulary", async () => {
    api();
    renderWithQuery(<App />);

    expect(await screen.findByRole("heading", { name: "Customers" })).toBeTruthy();
    expect(screen.getByRole("link", { name: "Customers" }).getAttribute("aria-current")).toBe("page");
    expect(await screen.findByRole("option", { name: "Netherlands" })).toBeTruthy();
  });

  it("follows the address's hash to another page", async () => {
    api();
    window.location.hash = "#/forecast";
    renderWithQuery(<App />);

    expect(await screen.findByRole("heading", { name: "Forecast" })).toBeTruthy();
    expect(screen.getByRole("link", { name: "Forecast" }).getAttribute("aria-current")).toBe("page");
    expect((await screen.findByRole("alert")).textContent).toContain("Please sign in");
  });

  it("signs out with a POST carrying the CSRF token, as Django requires", () => {
    api();
    document.cookie = "csrftoken=abc";
    const { container } = renderWithQuery(<App />);

    const form = container.querySelector("form.signout") as HTMLFormElement;
    expect(form.method).toBe("post");
    expect(form.getAttribute("action")).toBe("/accounts/logout/");
    expect((form.elements.namedItem("csrfmiddlewaretoken") as HTMLInputElement).value).toBe("abc");
  });
});
