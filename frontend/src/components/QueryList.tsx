import type { UseQueryResult } from "@tanstack/react-query";
import { Loading, Problem } from "./Problem";
import { SortableTable, type Column, type JsonRow } from "./SortableTable";

// What the list pages (customers, opportunities) show around their rows, said once: the count
// beside the filters, and under them the loading line, the problem, the empty list or the table.

/** How the rows are named: "1 customer", "2 customers". */
export type Noun = { one: string; many: string };

/** "Updating…" while new rows load over the old ones, then how many rows the list has. */
export function ResultCount<Row>({
  query,
  noun,
  testId,
}: {
  query: UseQueryResult<Row[]>;
  noun: Noun;
  testId: string;
}) {
  if (query.isFetching && query.data) {
    return (
      <span className="count" role="status">
        Updating…
      </span>
    );
  }
  if (!query.data || query.isError || query.isFetching) return null;
  return (
    <output className="count" aria-live="polite" data-testid={testId}>
      {query.data.length} {query.data.length === 1 ? noun.one : noun.many}
    </output>
  );
}

/** The rows in a sortable table; while loading, on an error (with Retry) or when empty, says so. */
export function ResultTable<Row extends JsonRow>({
  query,
  noun,
  filtered,
  caption,
  columns,
  rowKey,
}: {
  query: UseQueryResult<Row[]>;
  noun: Noun;
  // Whether filters are set: an empty list then says they are why.
  filtered: boolean;
  caption: string;
  columns: Column<Row>[];
  rowKey: (row: Row) => string | number;
}) {
  if (query.isPending) return <Loading what={noun.many} />;
  if (query.isError) return <Problem error={query.error} onRetry={() => void query.refetch()} />;
  if (query.data && query.data.length === 0) {
    return (
      <p className="empty">
        {filtered ? `No ${noun.many} match these filters.` : `There are no ${noun.many} yet.`}
      </p>
    );
  }
  return <SortableTable caption={caption} columns={columns} rows={query.data ?? []} rowKey={rowKey} />;
}
