/**
 * src/reproduce: the tutorials' runs, reproduced from their own data and settings.
 *
 *   loadHubDataset("owner/name", { revision, split, columns })   a Hub dataset's Parquet files -> polars    hub-dataset.ts
 *   listRecipes(), type Recipe                                   recipes/<tutorial>.json, checked           recipes.ts
 *   reproduceTutorial(name, { quick })                            data -> train -> evaluate -> the published
 *                                                                 table beside ours, reports/reproduce/      run.ts
 * The command: npm run reproduce -- <tutorial> [--quick] [--dry-run --json] [--list] (scripts/reproduce.mjs).
 */
export { loadHubDataset } from "./hub-dataset";
export { listRecipes, type Recipe } from "./recipes";
export { reproduceTutorial } from "./run";
