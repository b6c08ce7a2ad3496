import { useQuery } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { csrfToken } from "./api";
import { CustomersPage } from "./pages/Customers";
import { ForecastPage } from "./pages/Forecast";
import { MovementPage } from "./pages/Movement";
import { OpportunitiesPage } from "./pages/Opportunities";
import { vocabularyQuery } from "./queries";

const PAGES = [
  { hash: "#/customers", label: "Customers" },
  { hash: "#/opportunities", label: "Opportunities" },
  { hash: "#/forecast", label: "Forecast" },
  { hash: "#/movement", label: "Movement" },
] as const;

// Hash routes: Django serves one index.html at "/" and never has to know the app's pages.
function useHashRoute(): string {
  const [hash, setHash] = useState(window.location.hash || PAGES[0].hash);
  useEffect(() => {
    const onChange = () => setHash(window.location.hash || PAGES[0].hash);
    window.addEventListener("hashchange", onChange);
    return () => window.removeEventListener("hashchange", onChange);
  }, []);
  return hash;
}

export function App() {
  const route = useHashRoute();
  const vocabulary = useQuery(vocabularyQuery);

  return (
    <>
      <header className="top">
        <h1>IntraSoft CRM</h1>
        <nav aria-label="Pages">
          {PAGES.map((p) => (
            <a key={p.hash} href={p.hash} aria-current={route === p.hash ? "page" : undefined}>
              {p.label}
            </a>
          ))}
        </nav>
        {/* Django's logout only accepts POST, with the CSRF token. */}
        <form method="post" action="/accounts/logout/" className="signout">
          <input type="hidden" name="csrfmiddlewaretoken" value={csrfToken()} />
          <button type="submit">Sign out</button>
        </form>
      </header>
      <main>
        {route === "#/opportunities" ? (
          <OpportunitiesPage vocabulary={vocabulary.data} />
        ) : route === "#/forecast" ? (
          <ForecastPage />
        ) : route === "#/movement" ? (
          <MovementPage />
        ) : (
          <CustomersPage vocabulary={vocabulary.data} />
        )}
      </main>
    </>
  );
}
