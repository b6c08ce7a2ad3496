import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { apiError, customer, mockApi, renderWithQuery, VOCABULARY } from "../test-utils";
import { CustomersPage } from "./Customers";

const ROWS = [
  customer({ cid: 3, customer_name: "Zürich Versicherung", area: "Switzerland", is_key_account: true }),
  customer({ cid: 1, customer_name: "Société Générale", area: "France", industry: null }),
  customer({ cid: 2, customer_name: "Ørsted", area: "UK", is_active: false }),
];

function bodyRows() {
  return within(screen.getByRole("table")).getAllByRole("row").slice(1);
}

function firstCells() {
  return bodyRows().map((r) => within(r).getAllByRole("cell")[1].textContent);
}

describe("CustomersPage", () => {
  it("shows every customer field as a column, each row, and the row count", async () => {
    mockApi(() => [200, ROWS]);
    renderWithQuery(<CustomersPage vocabulary={VOCABULARY} />);

    expect(await screen.findByTestId("customer-count")).toHaveProperty("textContent", "3 customers");
    const headers = screen.getAllByRole("columnheader").map((h) => h.textContent);
    expect(headers).toEqual([
      "CID",
      "Customer",
      "Area",
      "Account executive",
      "Technical specialist",
      "Industry",
      "Contract type",
      "Contract start",
      "Contract end",
      "Active",
      "Key account",
    ]);
    const cells = within(bodyRows()[0])
      .getAllByRole("cell")
      .map((c) => c.textContent);
    expect(cells).toEqual([
      "3",
      "Zürich Versicherung",
      "Switzerland",
      "A. Martin",
      "B. Durand",
      "Retail",
      "Annual",
      "2023-01-01",
      "2025-12-31",
      "Yes",
      "Yes",
    ]);
    // A missing value reads as a dash, not as "null".
    expect(within(bodyRows()[1]).getAllByRole("cell")[5].textContent).toBe("—");
  });

  it("sorts by a column, ascending then descending", async () => {
    mockApi(() => [200, ROWS]);
    renderWithQuery(<CustomersPage vocabulary={VOCABULARY} />);
    await screen.findByRole("table");
    const user = userEvent.setup();

    await user.click(screen.getByRole("button", { name: "CID" }));
    expect(bodyRows().map((r) => within(r).getAllByRole("cell")[0].textContent)).toEqual(["1", "2", "3"]);
    expect(screen.getByRole("columnheader", { name: /CID/ }).getAttribute("aria-sort")).toBe("ascending");

    await user.click(screen.getByRole("button", { name: /Customer/ }));
    expect(firstCells()).toEqual(["Ørsted", "Société Générale", "Zürich Versicherung"]);
    await user.click(screen.getByRole("button", { name: /Customer/ }));
    expect(firstCells()).toEqual(["Zürich Versicherung", "Société Générale", "Ørsted"]);
    expect(screen.getByRole("columnheader", { name: /Customer/ }).getAttribute("aria-sort")).toBe(
      "descending",
    );
  });

  it("asks the API for one area and shows what it returns", async () => {
    const calls = mockApi((url) => [200, url.searchParams.get("area") === "UK" ? [ROWS[2]] : ROWS]);
    renderWithQuery(<CustomersPage vocabulary={VOCABULARY} />);
    await screen.findByText("3 customers");

    await userEvent.setup().selectOptions(screen.getByLabelText("Area"), "UK");

    expect(await screen.findByText("1 customer")).toBeTruthy();
    expect(firstCells()).toEqual(["Ørsted"]);
    expect(calls.at(-1)!.url.pathname).toBe("/api/customers");
    expect(calls.at(-1)!.url.searchParams.get("area")).toBe("UK");
  });

  it("searches by name on the server once typing pauses", async () => {
    const calls = mockApi((url) => [200, url.searchParams.get("search") === "sté" ? [ROWS[1]] : ROWS]);
    renderWithQuery(<CustomersPage vocabulary={VOCABULARY} />);
    await screen.findByText("3 customers");

    await userEvent.setup().type(screen.getByLabelText("Name"), "sté");

    expect(await screen.findByText("1 customer")).toBeTruthy();
    expect(firstCells()).toEqual(["Société Générale"]);
    // One request for the page, one for the finished word: not one per key.
    expect(calls.map((c) => c.url.searchParams.get("search"))).toEqual([null, "sté"]);
  });

  it("says so while loading", () => {
    mockApi(() => new Promise(() => {}));
    renderWithQuery(<CustomersPage vocabulary={VOCABULARY} />);
    expect(screen.getByRole("status").textContent).toBe("Loading customers…");
    expect(screen.queryByRole("table")).toBeNull();
  });

  it("keeps the current rows on screen while a new filter loads", async () => {
    let release: () => void = () => {};
    mockApi((url) =>
      url.searchParams.get("area")
        ? new Promise((resolve) => (release = () => resolve([200, [ROWS[2]]])))
        : [200, ROWS],
    );
    renderWithQuery(<CustomersPage vocabulary={VOCABULARY} />);
    await screen.findByText("3 customers");

    await userEvent.setup().selectOptions(screen.getByLabelText("Area"), "UK");

    expect((await screen.findByRole("status")).textContent).toBe("Updating…");
    expect(bodyRows()).toHaveLength(3);
    release();
    expect(await screen.findByText("1 customer")).toBeTruthy();
    expect(firstCells()).toEqual(["Ørsted"]);
  });

  it("says when no customer matches, instead of an empty table", async () => {
    mockApi((url) => [200, url.searchParams.get("area") ? [] : ROWS]);
    renderWithQuery(<CustomersPage vocabulary={VOCABULARY} />);
    await screen.findByText("3 customers");
    await userEvent.setup().selectOptions(screen.getByLabelText("Area"), "Germany");

    expect(await screen.findByText("No customers match these filters.")).toBeTruthy();
    expect(screen.getByText("0 customers")).toBeTruthy();
    expect(screen.queryByRole("table")).toBeNull();
  });

  it("asks an anonymous visitor to sign in, with a link back to the app", async () => {
    mockApi(() => [401, apiError("not_authenticated", "Authentication credentials were not provided.")]);
    renderWithQuery(<CustomersPage vocabulary={VOCABULARY} />);

    const alert = await screen.findByRole("alert");
    expect(alert.textContent).toContain("Please sign in");
    expect(within(alert).getByRole("link", { name: "sign in" }).getAttribute("href")).toBe(
      "/accounts/login/?next=/",
    );
  });

  it("says the database is unavailable on 503, and retries on request", async () => {
    let down = true;
    const calls = mockApi(() =>
      down
        ? [503, { type: "server_error", errors: [{ code: "database_unavailable", detail: "x", attr: null }] }]
        : [200, ROWS],
    );
    renderWithQuery(<CustomersPage vocabulary={VOCABULARY} />);

    const alert = await screen.findByRole("alert");
    expect(alert.textContent).toContain("The database is unavailable right now. Please retry in a moment.");
    down = false;
    await userEvent.setup().click(within(alert).getByRole("button", { name: "Retry" }));

    await waitFor(() => expect(screen.getByText("3 customers")).toBeTruthy());
    expect(calls).toHaveLength(2);
  });

  it("says the account lacks permission on 403, without a pointless retry", async () => {
    mockApi(() => [403, apiError("permission_denied", "You do not have permission to perform this action.")]);
    renderWithQuery(<CustomersPage vocabulary={VOCABULARY} />);

    const alert = await screen.findByRole("alert");
    expect(alert.textContent).toContain("does not have permission");
    expect(within(alert).queryByRole("button")).toBeNull();
  });
});
