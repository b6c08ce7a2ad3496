import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { useId, useRef, useState, type KeyboardEvent } from "react";
import type { Customer } from "../api";
import { customerSearchQuery } from "../queries";
import { useDebounced } from "../useDebounced";
import { Problem } from "./Problem";

export const SEARCH_DELAY_MS = 250;
// Enough to pick from at a glance; more than this means "type more of the name".
export const SEARCH_LIMIT = 10;

const label = (c: Customer) => `${c.customer_name} (${c.area || "no area"}, ${c.cid})`;

/**
 * A customer chosen by typing part of the name: the API's `search` answers as the user types
 * (after a pause), so the roster is never loaded whole. The WAI-ARIA combobox pattern: arrows
 * move through the suggestions, Enter chooses, Escape closes the list (and then clears the text).
 */
export function CustomerSearch({
  id,
  onSelect,
  errorId,
}: {
  id: string;
  onSelect: (customer: Customer | null) => void;
  /** The id of the field's error message, when it has one. */
  errorId?: string;
}) {
  const [text, setText] = useState("");
  const [chosen, setChosen] = useState<Customer | null>(null);
  const [open, setOpen] = useState(false);
  const [active, setActive] = useState(-1);
  const typed = text.trim();
  const term = useDebounced(typed, SEARCH_DELAY_MS);
  const search = useQuery({
    ...customerSearchQuery(term, SEARCH_LIMIT),
    enabled: term !== "" && chosen === null,
    // The previous suggestions stay while the next ones load: the list does not flicker per key.
    placeholderData: keepPreviousData,
  });
  const inputRef = useRef<HTMLInputElement>(null);
  const listId = `${useId()}-listbox`;
  const optionId = (i: number) => `${listId}-${i}`;

  const expanded = open && chosen === null && typed !== "";
  const options = expanded && search.data ? search.data.customers : [];
  const waiting = term !== typed || search.isFetching;

  function choose(customer: Customer) {
    setChosen(customer);
    setText(customer.customer_name);
    setOpen(false);
    setActive(-1);
    onSelect(customer);
  }

  function type(value: string) {
    setText(value);
    setOpen(true);
    setActive(-1);
    if (chosen) {
      setChosen(null);
      onSelect(null);
    }
  }

  function onKeyDown(event: KeyboardEvent<HTMLInputElement>) {
    const n = options.length;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      if (!open) {
        setOpen(true);
        return;
      }
      if (n === 0) return;
      setActive(event.key === "ArrowDown" ? (active + 1) % n : active <= 0 ? n - 1 : active - 1);
    } else if (event.key === "Enter" && expanded && active >= 0 && active < n) {
      // Choosing a suggestion must not submit the form around it.
      event.preventDefault();
      choose(options[active]);
    } else if (event.key === "Escape") {
      if (expanded) {
        event.preventDefault();
        setOpen(false);
        setActive(-1);
      } else if (text !== "") {
        event.preventDefault();
        type("");
        setOpen(false);
      }
    }
  }

  let status = "";
  if (chosen) status = `Customer ${chosen.cid}, ${chosen.area || "no area"}.`;
  else if (!expanded) status = "";
  else if (waiting && !search.data) status = "Searching…";
  else if (search.data && !search.isError && !waiting) {
    const { customers, more } = search.data;
    status =
      customers.length === 0
        ? `No customer matches “${term}”.`
        : more
          ? `The first ${customers.length} matches; type more of the name to narrow them.`
          : `${customers.length} ${customers.length === 1 ? "customer matches" : "customers match"}.`;
  }
  const statusId = `${listId}-status`;

  return (
    <div className="combobox">
      <input
        ref={inputRef}
        id={id}
        type="text"
        role="combobox"
        autoComplete="off"
        spellCheck={false}
        placeholder="Type part of the name"
        aria-autocomplete="list"
        aria-expanded={expanded && options.length > 0}
        aria-controls={listId}
        aria-activedescendant={
          expanded && active >= 0 && active < options.length ? optionId(active) : undefined
        }
        aria-invalid={errorId ? true : undefined}
        aria-describedby={[errorId, statusId].filter(Boolean).join(" ")}
        value={text}
        onChange={(e) => type(e.target.value)}
        onKeyDown={onKeyDown}
        onFocus={() => setOpen(true)}
        onBlur={() => setOpen(false)}
      />
      <ul id={listId} role="listbox" aria-label="Matching customers" hidden={options.length === 0}>
        {options.map((c, i) => (
          <li
            key={c.cid}
            id={optionId(i)}
            role="option"
            aria-selected={i === active}
            // Keep the focus in the text box, so the list stays open until the click chooses.
            onMouseDown={(e) => e.preventDefault()}
            onClick={() => choose(c)}
          >
            {label(c)}
          </li>
        ))}
      </ul>
      <span className="hint" id={statusId} role="status">
        {status}
      </span>
      {chosen === null && typed !== "" && search.isError && (
        <Problem
          error={search.error}
          onRetry={() => {
            // Back to the text box, where the answer will be listed.
            inputRef.current?.focus();
            void search.refetch();
          }}
        />
      )}
    </div>
  );
}
