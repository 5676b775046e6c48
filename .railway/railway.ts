// Vigia on Railway, as Infrastructure as Code (docs.railway.com/infrastructure-as-code).
//
// The Railway CLI evaluates this file and applies it to the linked project:
//   railway config plan     # what would change
//   railway config apply    # do it
// Railway never reads this file during a deploy; an apply sets the services' settings, and the
// deploys that follow use them. It replaces railway.json and railway/*.json (Config as Code),
// which no service reads from 2026-12-01 on; those files stay, equal to this one, for
// `railway config migrate` of services created before that date.
//
// A Redis and four services built from the repository's Dockerfile, each starting one Procfile
// command (tests/deploy/test_railway_iac.py evaluates this file with the `railway` package and
// checks it against the Procfile):
//   web     gunicorn; `vigia migrate` before each deploy; health check /health
//   worker  Celery worker; `vigia migrate` before each deploy (an advisory lock serialises the two)
//   beat    the only scheduler: one replica
//   flower  the monitoring UI on $PORT; health check /healthcheck (no auth there)
// Draining (SIGTERM -> SIGKILL; Railway's default is 0 s) is above each process's own shutdown.
//
// Secrets are references to the environment's shared variables (`${{shared.NAME}}`), which you
// create once by hand (Project Settings > Shared Variables); this file never holds a value.
// A reference to a shared variable you did not create resolves to an empty value, which Vigia
// treats as unset.

import { execFileSync } from "node:child_process";

import { defineRailway, github, project, redis, service } from "railway/iac";

// The Procfile's commands (tests/deploy keeps them equal).
const RELEASE = "vigia migrate";
const WEB = "gunicorn services.api.main:app -c services/api/gunicorn_conf.py";
const WORKER = "celery -A services.worker -q worker -Q default,monitoring,analysis,maintenance -E";
const BEAT = "celery -A services.beat -q beat";
// Railway runs a Dockerfile service's start command without a shell: the one reading $PORT gets one.
const FLOWER = '/bin/sh -c "exec celery -A services.flower flower --port=$PORT --address=0.0.0.0"';

// The GitHub repository these services deploy: VIGIA_GITHUB_REPO, else this checkout's `origin`
// when it is on GitHub (so a fork deploys itself with no edit). Without either the services get no
// source, and `railway up` deploys this directory.
function githubRepo(): string | undefined {
  const given = process.env.VIGIA_GITHUB_REPO?.trim();
  if (given) return given;
  try {
    const origin = execFileSync("git", ["remote", "get-url", "origin"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    const match = origin.match(/github\.com[:/]([^/]+\/[^/]+?)(?:\.git)?$/);
    return match ? match[1] : undefined;
  } catch {
    return undefined;
  }
}

export default defineRailway((ctx) => {
  const repo = githubRepo();
  const source = repo ? github(repo, { branch: process.env.VIGIA_GITHUB_BRANCH?.trim() || "main" }) : undefined;
  const build = { builder: "DOCKERFILE" as const, dockerfilePath: "Dockerfile" };

  const cache = redis("Redis");

  // What every process reads. Plain settings not listed keep Vigia's defaults (README: Configuration).
  const common = {
    ENVIRONMENT: "production",
    LOG_FORMAT: "json",
    LOG_LEVEL: "INFO",
    // The private redis.railway.internal URL, resolved at run time.
    REDIS_URL: cache.env.REDIS_URL,
    SENTRY_DSN: ctx.shared.SENTRY_DSN,
  };
  // The database: DATABASE_URL, or SUPABASE_URL with SUPABASE_SERVICE_ROLE_KEY (README: Storage).
  const database = {
    DATABASE_URL: ctx.shared.DATABASE_URL,
    SUPABASE_URL: ctx.shared.SUPABASE_URL,
    SUPABASE_SERVICE_ROLE_KEY: ctx.shared.SUPABASE_SERVICE_ROLE_KEY,
  };
  const orgaos = {
    WATCHED_ORGAOS: ctx.shared.WATCHED_ORGAOS,
    PRIORITY_ORGAOS: ctx.shared.PRIORITY_ORGAOS,
  };

  const web = service("web", {
    source,
    build,
    start: WEB,
    preDeploy: [RELEASE],
    healthcheck: "/health",
    healthcheckTimeout: 120,
    // gunicorn's graceful_timeout is 20 s.
    deploy: { restartPolicyType: "ON_FAILURE", restartPolicyMaxRetries: 10, drainingSeconds: 30 },
    env: {
      ...common,
      ...database,
      API_KEYS: ctx.shared.API_KEYS,
      CORS_ORIGINS: ctx.shared.CORS_ORIGINS,
      // Railway's edge appends the client's address to X-Forwarded-For: it is the rightmost entry.
      API_TRUSTED_PROXY_HOPS: "1",
    },
  });

  const worker = service("worker", {
    source,
    build,
    start: WORKER,
    preDeploy: [RELEASE],
    // Above WORKER_SOFT_SHUTDOWN_TIMEOUT (20 s): running tasks are requeued before SIGKILL.
    deploy: { restartPolicyType: "ALWAYS", drainingSeconds: 60 },
    env: {
      ...common,
      ...database,
      ...orgaos,
      TRANSPARENCY_API_KEY: ctx.shared.TRANSPARENCY_API_KEY,
      GROQ_API_KEY: ctx.shared.GROQ_API_KEY,
    },
  });

  const beat = service("beat", {
    source,
    build,
    start: BEAT,
    // RedBeat's lock keeps an overlapping old beat from firing, but there is only ever one.
    replicas: 1,
    deploy: { restartPolicyType: "ALWAYS", drainingSeconds: 30 },
    env: { ...common, ...orgaos },
  });

  const flower = service("flower", {
    source,
    build,
    start: FLOWER,
    healthcheck: "/healthcheck",
    healthcheckTimeout: 120,
    deploy: { restartPolicyType: "ON_FAILURE", restartPolicyMaxRetries: 10, drainingSeconds: 10 },
    env: {
      ...common,
      FLOWER_USER: "vigia",
      FLOWER_PASSWORD: ctx.shared.FLOWER_PASSWORD,
    },
  });

  return project("vigia", { resources: [cache, web, worker, beat, flower] });
});
