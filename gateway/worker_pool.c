/* worker_pool.c - see include/worker_pool.h. A mutex-protected FIFO; the
 * queue is unbounded because the HTTP layer bounds the connections that can
 * feed it. */
#include "worker_pool.h"

#include <pthread.h>
#include <stdlib.h>

struct job {
    worker_fn fn;
    void *arg;
    struct job *next;
};

struct worker_pool {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    struct job *head;
    struct job *tail;
    bool stopping;
    unsigned nthreads;
    pthread_t threads[];
};

static void *worker_main(void *data)
{
    struct worker_pool *pool = data;
    for (;;) {
        pthread_mutex_lock(&pool->lock);
        while (pool->head == NULL && !pool->stopping)
            pthread_cond_wait(&pool->wake, &pool->lock);
        struct job *job = pool->head;
        if (job == NULL) {   /* stopping and drained */
            pthread_mutex_unlock(&pool->lock);
            return NULL;
        }
        pool->head = job->next;
        if (pool->head == NULL)
            pool->tail = NULL;
        pthread_mutex_unlock(&pool->lock);

        job->fn(job->arg);
        free(job);
    }
}

struct worker_pool *worker_pool_new(unsigned nthreads)
{
    if (nthreads == 0)
        nthreads = 1;
    struct worker_pool *pool = calloc(1, sizeof(*pool) + nthreads * sizeof(pthread_t));
    if (pool == NULL)
        return NULL;
    pthread_mutex_init(&pool->lock, NULL);
    pthread_cond_init(&pool->wake, NULL);
    for (unsigned i = 0; i < nthreads; i++) {
        if (pthread_create(&pool->threads[i], NULL, worker_main, pool) != 0)
            break;
        pool->nthreads++;
    }
    if (pool->nthreads != nthreads) {
        worker_pool_free(&pool);
        return NULL;
    }
    return pool;
}

bool worker_pool_submit(struct worker_pool *pool, worker_fn fn, void *arg)
{
    struct job *job = malloc(sizeof(*job));
    if (job == NULL)
        return false;
    job->fn = fn;
    job->arg = arg;
    job->next = NULL;

    pthread_mutex_lock(&pool->lock);
    if (pool->stopping) {
        pthread_mutex_unlock(&pool->lock);
        free(job);
        return false;
    }
    if (pool->tail != NULL)
        pool->tail->next = job;
    else
        pool->head = job;
    pool->tail = job;
    pthread_cond_signal(&pool->wake);
    pthread_mutex_unlock(&pool->lock);
    return true;
}

void worker_pool_free(struct worker_pool **poolp)
{
    struct worker_pool *pool = *poolp;
    if (pool == NULL)
        return;
    pthread_mutex_lock(&pool->lock);
    pool->stopping = true;
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->lock);
    for (unsigned i = 0; i < pool->nthreads; i++)
        pthread_join(pool->threads[i], NULL);
    pthread_cond_destroy(&pool->wake);
    pthread_mutex_destroy(&pool->lock);
    free(pool);
    *poolp = NULL;
}
