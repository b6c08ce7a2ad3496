import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import type { Customer } from "../api";
import { apiError, customer, mockApi, page, renderWithQuery } from "../test-utils";
import { CustomerSearch, SEARCH_LIMIT } from "./CustomerSearch";

const ROSTER = [
  customer({ cid: 12, customer_name: "Garonne Distribution SA", area: "France" }),
  customer({ cid: 7, customer_name: "Garten Müller GmbH", area: "Germany" }),
  customer({ cid: 31, customer_name: "Gartner Holland BV", area: "Netherlands" }),
];

/** A server that searches ROSTER by name as the API does (case-insensitive substring). */
function server(more = false) {
  return mockApi((url) => {
    const search = (url.searchParams.get("search") ?? "").toLowerCase();
    const found = ROSTER.filter((c) => c.customer_name.toLowerCase().includes(search));
    return [200, page(found, more ? `${url.origin}/api/customers?offset=10` : null)];
  });
}

function renderSearch() {
  const onSelect = vi.fn<(customer: Customer | null) => void>();
  const onSubmit = vi.fn((e: { preventDefault: () => void }) => e.preventDefault());
  renderWithQuery(
    <form onSubmit={onSubmit}>
      <label htmlFor="picker">Customer</label>
      <CustomerSearch id="picker" onSelect={onSelect} />
    </form>,
  );
  return { input: screen.getByRole<HTMLInputElement>("combobox", { name: "Customer" }), onSelect, onSubmit };
}

const optionNames = () =>
  within(screen.getByRole("listbox"))
    .getAllByRole("option")
    .map((o) => o.textContent);

describe("CustomerSearch", () => {
  it("asks the API for a few customers by name once typing pauses, and lists them", async () => {
    const calls = server();
    const { input } = renderSearch();
    expect(calls).toHaveLength(0);

    await userEvent.setup().type(input, "Gar");

    await waitFor(() => expect(optionNames()).toHaveLength(3));
    expect(optionNames()).toEqual([
      "Garonne Distribution SA (France, 12)",
      "Garten Müller GmbH (Germany, 7)",
      "Gartner Holland BV (Netherlands, 31)",
    ]);
    expect(input.getAttribute("aria-expanded")).toBe("true");
    expect(input.getAttribute("aria-controls")).toBe(screen.getByRole("listbox").id);
    // One request for the finished word, not one per key; never the whole roster.
    expect(calls.map((c) => c.url.pathname + c.url.search)).toEqual([
      `/api/customers?search=Gar&limit=${SEARCH_LIMIT}&ordering=customer_name`,
    ]);
    expect(screen.getByText("3 customers match.")).toBeTruthy();
  });

  it("is used with the keyboard alone: arrows move, Enter chooses without submitting the form", async () => {
    server();
    const { input, onSelect, onSubmit } = renderSearch();
    const user = userEvent.setup();
    await user.type(input, "gart");
    await waitFor(() => expect(optionNames()).toHaveLength(2));
    const [first, second] = screen.getAllByRole("option");

    await user.keyboard("{ArrowDown}");
    expect(input.getAttribute("aria-activedescendant")).toBe(first.id);
    expect(first.getAttribute("aria-selected")).toBe("true");
    await user.keyboard("{ArrowDown}");
    expect(input.getAttribute("aria-activedescendant")).toBe(second.id);
    expect(first.getAttribute("aria-selected")).toBe("false");
    await user.keyboard("{ArrowDown}");
    expect(input.getAttribute("aria-activedescendant")).toBe(first.id);
    await user.keyboard("{ArrowUp}");
    expect(input.getAttribute("aria-activedescendant")).toBe(second.id);
    await user.keyboard("{Enter}");

    expect(onSelect).toHaveBeenCalledExactlyOnceWith(ROSTER[2]);
    expect(onSubmit).not.toHaveBeenCalled();
    expect(input.value).toBe("Gartner Holland BV");
    expect(input.getAttribute("aria-expanded")).toBe("false");
    expect(input.getAttribute("aria-activedescendant")).toBeNull();
    expect(screen.queryByRole("listbox")).toBeNull();
    // Which customer it is stays in view: two customers may share a name.
    expect(screen.getByText("Customer 31, Netherlands.")).toBeTruthy();
  });

  it("closes the list on Escape without choosing, then clears the text on a second Escape", async () => {
    server();
    const { input, onSelect } = renderSearch();
    const user = userEvent.setup();
    await user.type(input, "gar");
    await waitFor(() => expect(optionNames()).toHaveLength(3));

    await user.keyboard("{ArrowDown}{Escape}");
    expect(screen.queryByRole("listbox")).toBeNull();
    expect(input.getAttribute("aria-expanded")).toBe("false");
    expect(input.value).toBe("gar");
    await user.keyboard("{ArrowDown}");
    expect(optionNames()).toHaveLength(3);
    await user.keyboard("{Escape}{Escape}");

    expect(input.value).toBe("");
    expect(onSelect).not.toHaveBeenCalled();
  });

  it("chooses with a click, and forgets the choice once the name is edited", async () => {
    server();
    const { input, onSelect } = renderSearch();
    const user = userEvent.setup();
    await user.type(input, "müller");
    await user.click(await screen.findByRole("option", { name: "Garten Müller GmbH (Germany, 7)" }));
    expect(onSelect).toHaveBeenLastCalledWith(ROSTER[1]);
    expect(input.value).toBe("Garten Müller GmbH");

    await user.type(input, "{Backspace}");

    expect(onSelect).toHaveBeenLastCalledWith(null);
    expect(input.value).toBe("Garten Müller Gmb");
    expect(screen.queryByText("Customer 7, Germany.")).toBeNull();
  });

  it("says when no customer matches, and when more match than are shown", async () => {
    server(true);
    const { input } = renderSearch();
    const user = userEvent.setup();
    await user.type(input, "gar");
    expect(
      await screen.findByText(`The first 3 matches; type more of the name to narrow them.`),
    ).toBeTruthy();

    await user.clear(input);
    await user.type(input, "zzz");

    expect(await screen.findByText("No customer matches “zzz”.")).toBeTruthy();
    expect(screen.queryByRole("listbox")).toBeNull();
  });

  it("says why the search failed, and searches again on Retry", async () => {
    let down = true;
    const calls = mockApi(() =>
      down ? [503, apiError("database_unavailable", "Database unavailable.")] : [200, page(ROSTER)],
    );
    const { input } = renderSearch();
    const user = userEvent.setup();
    await user.type(input, "gar");

    const alert = await screen.findByRole("alert");
    expect(alert.textContent).toContain("The database is unavailable right now.");
    down = false;
    await user.click(within(alert).getByRole("button", { name: "Retry" }));

    await waitFor(() => expect(optionNames()).toHaveLength(3));
    expect(calls).toHaveLength(2);
  });
});
