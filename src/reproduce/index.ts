/**
 * src/reproduce: the tutorials' runs, reproduced from their own data and settings.
 *
 *   loadHubDataset("owner/name", { revision, split, columns })   a Hub dataset's Parquet files -> polars    hub-dataset.ts
 */
export { loadHubDataset } from "./hub-dataset";
