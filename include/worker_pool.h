/* worker_pool.h - a fixed set of threads that run blocking work (backend
 * I/O) off the HTTP event loop (design.md "Request flow"). */
#ifndef WORKER_POOL_H
#define WORKER_POOL_H

#include <stdbool.h>

struct worker_pool;

typedef void (*worker_fn)(void *arg);

/* Starts nthreads workers. Returns NULL if a thread or memory could not be had. */
struct worker_pool *worker_pool_new(unsigned nthreads);

/* Queues fn(arg); jobs run in submission order on some worker. Returns false
 * once the pool is shutting down (the caller must then handle arg itself). */
bool worker_pool_submit(struct worker_pool *pool, worker_fn fn, void *arg);

/* Stops accepting jobs, runs every job already queued, joins the threads
 * and frees the pool; sets *pool NULL. */
void worker_pool_free(struct worker_pool **pool);

#endif
