/* pool.c — worker threads, the priority queue and the outbox. See pool.h. */
#include "pool.h"

#include <string.h>
#include <time.h>

#include "codec.h"
#include "ms_alloc.h"
#include "runner.h"

struct pool {
    uv_loop_t *loop;
    uv_async_t async;
    uv_mutex_t lock;
    uv_cond_t cond;
    job **heap;
    size_t nheap, max_queue;
    int stop;
    int busy;
    int nworkers;
    uv_thread_t *threads;
    double interval;
    /* Outbox: messages from workers, FIFO. */
    uv_mutex_t out_lock;
    pool_msg *out_head, *out_tail;
    pool_deliver_fn deliver;
    void *user;
};

int64_t wall_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- the heap: higher priority first, then older first --------------- */

static int before(const job *a, const job *b) {
    return a->priority != b->priority ? a->priority > b->priority : a->order < b->order;
}

static void place(pool *p, size_t i, job *j) {
    p->heap[i] = j;
    j->heap_at = i;
}

static void sift_up(pool *p, size_t i) {
    job *j = p->heap[i];
    while (i > 0) {
        size_t up = (i - 1) / 2;
        if (!before(j, p->heap[up]))
            break;
        place(p, i, p->heap[up]);
        i = up;
    }
    place(p, i, j);
}

static void sift_down(pool *p, size_t i) {
    job *j = p->heap[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= p->nheap)
            break;
        if (c + 1 < p->nheap && before(p->heap[c + 1], p->heap[c]))
            c++;
        if (!before(p->heap[c], j))
            break;
        place(p, i, p->heap[c]);
        i = c;
    }
    place(p, i, j);
}

static void heap_remove_at(pool *p, size_t i) {
    job *gone = p->heap[i];
    gone->heap_at = (size_t)-1;
    p->nheap--;
    if (i == p->nheap)
        return;
    job *moved = p->heap[p->nheap];
    place(p, i, moved);
    sift_down(p, i);
    sift_up(p, moved->heap_at);
}

static int heap_push(pool *p, job *j) {
    if (p->nheap % 256 == 0) {
        job **h = ms_realloc(p->heap, p->nheap + 256, sizeof *h);
        if (!h)
            return -1;
        p->heap = h;
    }
    p->heap[p->nheap] = j;
    j->heap_at = p->nheap++;
    sift_up(p, p->nheap - 1);
    return 0;
}

/* ---- outbox ------------------------------------------------------------ */

void pool_msg_free(pool_msg *m) {
    if (m) {
        ms_free(m->data);
        ms_free(m);
    }
}

static void post(pool *p, pool_msg *m) {
    uv_mutex_lock(&p->out_lock);
    if (p->out_tail)
        p->out_tail->next = m;
    else
        p->out_head = m;
    p->out_tail = m;
    uv_mutex_unlock(&p->out_lock);
    uv_async_send(&p->async);
}

static void drain(pool *p) {
    for (;;) {
        uv_mutex_lock(&p->out_lock);
        pool_msg *m = p->out_head;
        p->out_head = p->out_tail = NULL;
        uv_mutex_unlock(&p->out_lock);
        if (!m)
            return;
        while (m) {
            pool_msg *next = m->next;
            m->next = NULL;
            p->deliver(m, p->user);
            m = next;
        }
    }
}

static void on_async(uv_async_t *a) {
    drain(a->data);
}

/* A message the worker could not allocate is a lost event; the done message
 * must not be lost, so it is allocated before the run starts. */
static pool_msg *msg_new(pool_msg_type t, job *j) {
    pool_msg *m = ms_calloc(1, sizeof *m);
    if (m) {
        m->type = t;
        m->job = j;
        m->at_ms = wall_ms();
    }
    return m;
}

/* ---- workers ----------------------------------------------------------- */

typedef struct wctx {
    pool *p;
    job *j;
    sbuf b;
} wctx;

static void on_progress(const ms_progress *prog, void *user) {
    wctx *w = user;
    pool_msg *m = msg_new(POOL_PROGRESS, w->j);
    if (!m)
        return;
    sbuf_reset(&w->b);
    codec_progress_write(&w->b, prog);
    if (sbuf_oom(&w->b) || !(m->data = ms_malloc(w->b.len + 1, 1))) {
        ms_free(m);
        return;
    }
    memcpy(m->data, w->b.s, w->b.len + 1);
    m->len = w->b.len;
    post(w->p, m);
}

static void run_job(pool *p, job *j) {
    pool_msg *done = NULL;
    while (!(done = msg_new(POOL_DONE, j))) /* keep the promise: a job always ends */
        uv_sleep(10);
    pool_msg *started = msg_new(POOL_STARTED, j);
    if (started)
        post(p, started);
    wctx w = {p, j, SBUF_INIT};
    double t0 = runner_now();
    runner_opts o = {runner_threads(j->kind, j->params),
                     &j->cancel,
                     j->timeout_s > 0 ? t0 + j->timeout_s : 0,
                     p->interval,
                     on_progress,
                     &w};
    ms_value *out = NULL;
    done->status = runner_run(j->kind, j->params, &o, &out, NULL, &done->err);
    if (done->status == MS_OK) {
        sbuf_reset(&w.b);
        if (codec_value_write(&w.b, out) == MS_OK) {
            done->len = w.b.len;
            done->data = sbuf_take(&w.b);
        } else {
            done->status = ms_fail(&done->err, MS_ENOMEM, "", "no memory to encode the result");
        }
    }
    ms_value_free(out);
    sbuf_free(&w.b);
    done->seconds = runner_now() - t0;
    done->at_ms = wall_ms();
    post(p, done);
}

static void worker(void *arg) {
    pool *p = arg;
    uv_mutex_lock(&p->lock);
    for (;;) {
        while (!p->stop && p->nheap == 0)
            uv_cond_wait(&p->cond, &p->lock);
        if (p->stop)
            break;
        job *j = p->heap[0];
        heap_remove_at(p, 0);
        p->busy++;
        uv_mutex_unlock(&p->lock);
        run_job(p, j);
        uv_mutex_lock(&p->lock);
        p->busy--;
    }
    uv_mutex_unlock(&p->lock);
}

pool *pool_new(uv_loop_t *loop, int workers, size_t max_queue, double progress_interval,
               pool_deliver_fn fn, void *user) {
    pool *p = ms_calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->loop = loop;
    p->max_queue = max_queue;
    p->interval = progress_interval;
    p->deliver = fn;
    p->user = user;
    p->threads = ms_calloc((size_t)workers, sizeof *p->threads);
    if (!p->threads || uv_mutex_init(&p->lock) || uv_mutex_init(&p->out_lock) ||
        uv_cond_init(&p->cond) || uv_async_init(loop, &p->async, on_async)) {
        ms_free(p->threads);
        ms_free(p);
        return NULL;
    }
    p->async.data = p;
    for (int i = 0; i < workers; i++) {
        if (uv_thread_create(&p->threads[i], worker, p))
            break;
        p->nworkers++;
    }
    return p;
}

int pool_push(pool *p, job *j) {
    uv_mutex_lock(&p->lock);
    int rc = p->nheap >= p->max_queue ? -1 : heap_push(p, j);
    if (rc == 0)
        uv_cond_signal(&p->cond);
    uv_mutex_unlock(&p->lock);
    return rc;
}

void pool_push_force(pool *p, job *j) {
    uv_mutex_lock(&p->lock);
    while (heap_push(p, j)) {
        uv_mutex_unlock(&p->lock);
        uv_sleep(10);
        uv_mutex_lock(&p->lock);
    }
    uv_cond_signal(&p->cond);
    uv_mutex_unlock(&p->lock);
}

int pool_remove(pool *p, job *j) {
    uv_mutex_lock(&p->lock);
    int queued = j->heap_at != (size_t)-1 && j->heap_at < p->nheap && p->heap[j->heap_at] == j;
    if (queued)
        heap_remove_at(p, j->heap_at);
    uv_mutex_unlock(&p->lock);
    return queued;
}

size_t pool_depth(pool *p) {
    uv_mutex_lock(&p->lock);
    size_t n = p->nheap;
    uv_mutex_unlock(&p->lock);
    return n;
}

size_t pool_capacity(pool *p) {
    return p->max_queue;
}

int pool_busy(pool *p) {
    uv_mutex_lock(&p->lock);
    int n = p->busy;
    uv_mutex_unlock(&p->lock);
    return n;
}

int pool_workers(pool *p) {
    return p->nworkers;
}

static void on_closed(uv_handle_t *h) {
    pool *p = h->data;
    uv_mutex_destroy(&p->lock);
    uv_mutex_destroy(&p->out_lock);
    uv_cond_destroy(&p->cond);
    ms_free(p->heap);
    ms_free(p->threads);
    ms_free(p);
}

void pool_stop(pool *p) {
    uv_mutex_lock(&p->lock);
    p->stop = 1;
    uv_cond_broadcast(&p->cond);
    uv_mutex_unlock(&p->lock);
    for (int i = 0; i < p->nworkers; i++)
        uv_thread_join(&p->threads[i]);
    drain(p);
    for (size_t i = 0; i < p->nheap; i++)
        p->heap[i]->heap_at = (size_t)-1;
    uv_close((uv_handle_t *)&p->async, on_closed);
}
