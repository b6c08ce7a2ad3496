import { useMemo, useState, type ReactNode } from "react";
import { formatCell, type Cell } from "../format";

/** A row of API data: every field a plain JSON value. */
export type JsonRow = { readonly [field: string]: Cell };

export type Column<Row> = {
  key: keyof Row & string;
  label: string;
  render?: (row: Row) => ReactNode;
  numeric?: boolean;
  // Dates and codes read badly broken over two lines; text columns may wrap.
  nowrap?: boolean;
};

type Sort<Row> = { key: keyof Row & string; direction: "ascending" | "descending" };

function compare(a: Cell, b: Cell): number {
  // Missing values sort last in either direction would surprise; keep them last ascending.
  if (a === b) return 0;
  if (a === null || a === undefined) return 1;
  if (b === null || b === undefined) return -1;
  if (typeof a === "number" && typeof b === "number") return a - b;
  if (typeof a === "boolean" && typeof b === "boolean") return a ? -1 : 1;
  const na = Number(a);
  const nb = Number(b);
  if (
    typeof a === "string" &&
    typeof b === "string" &&
    a !== "" &&
    b !== "" &&
    !Number.isNaN(na) &&
    !Number.isNaN(nb)
  ) {
    return na - nb;
  }
  return String(a).localeCompare(String(b), undefined, { sensitivity: "base" });
}

/** A table whose rows sort by any column: click a header once for ascending, again for descending. */
export function SortableTable<Row extends JsonRow>({
  columns,
  rows,
  rowKey,
  caption,
  initialSort,
}: {
  columns: Column<Row>[];
  rows: Row[];
  rowKey: (row: Row) => string | number;
  caption: string;
  initialSort?: Sort<Row>;
}) {
  const [sort, setSort] = useState<Sort<Row> | undefined>(initialSort);
  const sorted = useMemo(() => {
    if (!sort) return rows;
    const sign = sort.direction === "ascending" ? 1 : -1;
    return [...rows].sort((x, y) => sign * compare(x[sort.key], y[sort.key]));
  }, [rows, sort]);

  function toggle(key: keyof Row & string) {
    setSort((current) =>
      current?.key === key && current.direction === "ascending"
        ? { key, direction: "descending" }
        : { key, direction: "ascending" },
    );
  }

  return (
    <div className="table-wrap">
      <table>
        <caption className="visually-hidden">{caption}</caption>
        <thead>
          <tr>
            {columns.map((c) => (
              <th key={c.key} scope="col" aria-sort={sort?.key === c.key ? sort.direction : "none"}>
                <button type="button" className="sort" onClick={() => toggle(c.key)}>
                  {c.label}
                  <span aria-hidden="true">
                    {sort?.key === c.key ? (sort.direction === "ascending" ? " ▲" : " ▼") : ""}
                  </span>
                </button>
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {sorted.map((row) => (
            <tr key={rowKey(row)}>
              {columns.map((c) => (
                <td
                  key={c.key}
                  className={
                    [c.numeric && "num", c.nowrap && "nowrap"].filter(Boolean).join(" ") || undefined
                  }
                >
                  {c.render ? c.render(row) : formatCell(row[c.key])}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
