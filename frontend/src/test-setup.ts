import { cleanup, configure } from "@testing-library/react";
import { afterEach } from "vitest";

// findBy*/waitFor wait for what a user would wait for; on a busy two-core machine a debounced
// request and its answer can take longer than the default second.
configure({ asyncUtilTimeout: 5000 });

afterEach(() => cleanup());
