/** Entry point of a job process (see jobs/runner.ts): serves the job kinds of job-kinds.ts. */
import { jobKinds } from './job-kinds';
import { serveJobProcess } from './jobs/runner';

serveJobProcess(jobKinds);
