import { ApiError, LOGIN_URL } from "../api";

/** An API failure in words, with the way out: sign in, retry, or ask for access. */
export function Problem({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  const status = error instanceof ApiError ? error.status : -1;
  if (status === 401) {
    return (
      <div className="problem" role="alert">
        <p>You are not signed in, or your session has expired.</p>
        <p>
          Please <a href={LOGIN_URL}>sign in</a> to see the CRM data.
        </p>
      </div>
    );
  }
  let message: string;
  if (status === 403) {
    message = "Your account does not have permission to see this. Ask an administrator for access.";
  } else if (status === 503) {
    message = "The database is unavailable right now. Please retry in a moment.";
  } else if (status === 0) {
    message = "The server cannot be reached. Check your connection and retry.";
  } else if (error instanceof ApiError && error.errors.length) {
    message = `The server answered with an error (${status}): ${error.message}`;
  } else {
    message = `Something went wrong${status > 0 ? ` (HTTP ${status})` : ""}. Please retry.`;
  }
  return (
    <div className="problem" role="alert">
      <p>{message}</p>
      {onRetry && status !== 403 && (
        <button type="button" onClick={onRetry}>
          Retry
        </button>
      )}
    </div>
  );
}

export function Loading({ what }: { what: string }) {
  return (
    <p className="loading" role="status">
      Loading {what}…
    </p>
  );
}
