/** The course pipeline as the benchmarks run it: offline defaults, their own reports folder, notebook 1's steps. */
import { join } from "node:path";
import { buildCourseData, courseCorpus } from "../../src/course/data";
import { generateCourseQuestions } from "../../src/course/generation";
import { reviewRoundTrip } from "../../src/course/review";
import { type Course, courseSetup, slug } from "../../src/course/setup";
import { filterPairs } from "../../src/data/filters";

/** The course on the offline defaults (embedded model, no LLM), with its runs/ and results.json under `root`. */
export function benchCourse(dataset: string, root: string): Course {
  const c = courseSetup({ dataset, model: "offline", llm: "none" });
  const runsDir = join(root, "runs");
  const datasetDir = join(runsDir, c.dataset.name);
  return {
    ...c,
    runsDir,
    datasetDir,
    runDir: join(datasetDir, slug(c.model)),
    resultsPath: join(root, "results.json"),
  };
}

/** Notebook 1's steps: passages, generated questions, filters, the review sheet read back, the split. */
export async function prepareCourse(course: Course): Promise<void> {
  const corpus = courseCorpus(course);
  const gen = await generateCourseQuestions(course, corpus, { questionsPerChunk: 3 });
  const filtered = filterPairs(gen.rows);
  const review = reviewRoundTrip(course, filtered.kept);
  await buildCourseData(course, corpus, review.rows, { generator: gen.generator });
}
