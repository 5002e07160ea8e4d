/* upload_store.c - uploaded blobs as files (include/upload_store.h).
 * Every file name is built from checked ids (JMAP ids, our own hex), so
 * no client string ever becomes a path component unchecked. */
#define _GNU_SOURCE 1 /* O_CLOEXEC, dirfd */
#include "upload_store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

/* Entries looked at per account directory when expiring: past this the
 * oldest are not found, but the count limit keeps directories far below. */
#define UPLOAD_SCAN_MAX 8192

struct upload_store {
    char *dir;
    struct upload_store_limits limits;
    pthread_mutex_t lock;       /* commit and expiry of one store */
    struct timespec last_stamp; /* newest commit time given out (lock) */
    struct owner_count *owners; /* open spools per owner (lock) */
    size_t n_owners;
};

/* Who has how many uploads arriving: a hash of the owner string only, so
 * credentials are not kept. */
struct owner_count {
    uint64_t hash;
    uint64_t n;
};

struct upload_spool {
    struct upload_store *store;
    int fd;
    char path[PATH_MAX];
    char blob_id[UPLOAD_BLOB_ID_LEN + 1];
    uint64_t size;
    bool spent;                 /* committed or failed: no more writes */
    bool counted;               /* holds a slot of owner_hash */
    uint64_t owner_hash;
};

static _Atomic(struct upload_store *) default_store;

void upload_store_set_default(struct upload_store *s)
{
    atomic_store(&default_store, s);
}

struct upload_store *upload_store_default(void)
{
    return atomic_load(&default_store);
}

bool upload_blob_id_is(const char *blob_id)
{
    if (blob_id == NULL || blob_id[0] != 'U' || strlen(blob_id) != UPLOAD_BLOB_ID_LEN)
        return false;
    for (size_t i = 1; i < UPLOAD_BLOB_ID_LEN; i++)
        if (!((blob_id[i] >= '0' && blob_id[i] <= '9') || (blob_id[i] >= 'a' && blob_id[i] <= 'f')))
            return false;
    return true;
}

/* A JMAP id (RFC 8620 §1.2) is safe as a file name. */
static bool account_ok(const char *id)
{
    size_t len = id != NULL ? strlen(id) : 0;
    if (len == 0 || len > 255)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = id[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return false;
    }
    return true;
}

static int path_of(char out[PATH_MAX], const struct upload_store *s, const char *a, const char *b,
                   const char *suffix, struct gw_error *err)
{
    int n = b != NULL ? snprintf(out, PATH_MAX, "%s/%s/%s%s", s->dir, a, b, suffix)
                      : snprintf(out, PATH_MAX, "%s/%s", s->dir, a);
    if (n < 0 || n >= PATH_MAX)
        return gw_error_set(err, GW_ERR_INVALID, "upload path too long");
    return 0;
}

static int make_dir(const char *path, struct gw_error *err)
{
    if (mkdir(path, 0700) != 0 && errno != EEXIST)
        return gw_error_set(err, GW_ERR_INTERNAL, "cannot create %s: %s", path, strerror(errno));
    return 0;
}

/* Removes the regular files directly in path (leftover spools). */
static void clear_dir(const char *path)
{
    DIR *d = opendir(path);
    struct dirent *e;
    for (unsigned i = 0; d != NULL && i < UPLOAD_SCAN_MAX && (e = readdir(d)) != NULL; i++)
        if (e->d_name[0] != '.')
            unlinkat(dirfd(d), e->d_name, 0);
    if (d != NULL)
        closedir(d);
}

int upload_store_open(const char *dir, const struct upload_store_limits *limits,
                      struct upload_store **out, struct gw_error *err)
{
    char tmp[PATH_MAX];
    struct upload_store *s = calloc(1, sizeof(*s));
    if (s == NULL || (s->dir = strdup(dir)) == NULL) {
        free(s);
        return gw_error_set(err, GW_ERR_NOMEM, "out of memory");
    }
    s->limits = *limits;
    pthread_mutex_init(&s->lock, NULL);
    if (make_dir(dir, err) != 0 || path_of(tmp, s, "tmp", NULL, "", err) != 0 ||
        make_dir(tmp, err) != 0) {
        upload_store_free(&s);
        return -1;
    }
    clear_dir(tmp);
    *out = s;
    return 0;
}

void upload_store_free(struct upload_store **sp)
{
    struct upload_store *s = *sp;
    if (s == NULL)
        return;
    pthread_mutex_destroy(&s->lock);
    free(s->owners);
    free(s->dir);
    free(s);
    *sp = NULL;
}

static uint64_t owner_hash(const char *owner)
{
    uint64_t h = 14695981039346656037ull;   /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)owner; *p != '\0'; p++)
        h = (h ^ *p) * 1099511628211ull;
    return h;
}

/* One more open spool for hash unless it has max already (lock held). */
static int owner_take(struct upload_store *s, uint64_t hash, uint64_t max, struct gw_error *err)
{
    size_t i = 0;
    while (i < s->n_owners && s->owners[i].hash != hash)
        i++;
    if (i < s->n_owners && s->owners[i].n >= max)
        return gw_error_set(err, GW_ERR_LIMIT, "more concurrent uploads than maxConcurrentUpload");
    if (i == s->n_owners) {
        struct owner_count *grown = realloc(s->owners, (s->n_owners + 1) * sizeof(*grown));
        if (grown == NULL)
            return gw_error_set(err, GW_ERR_NOMEM, "out of memory");
        s->owners = grown;
        s->owners[s->n_owners++] = (struct owner_count){ .hash = hash, .n = 0 };
    }
    s->owners[i].n++;
    return 0;
}

/* Gives back a slot; an owner with none left is forgotten (lock held). */
static void owner_release(struct upload_store *s, uint64_t hash)
{
    for (size_t i = 0; i < s->n_owners; i++) {
        if (s->owners[i].hash != hash)
            continue;
        if (--s->owners[i].n == 0)
            s->owners[i] = s->owners[--s->n_owners];
        return;
    }
}

static void spool_free(struct upload_spool *sp)
{
    if (sp->counted) {
        pthread_mutex_lock(&sp->store->lock);
        owner_release(sp->store, sp->owner_hash);
        pthread_mutex_unlock(&sp->store->lock);
    }
    free(sp);
}

int upload_spool_begin_for(struct upload_store *s, const char *owner, uint64_t max_concurrent,
                           struct upload_spool **out, struct gw_error *err)
{
    unsigned char r[12];
    struct upload_spool *sp = calloc(1, sizeof(*sp));
    if (sp == NULL)
        return gw_error_set(err, GW_ERR_NOMEM, "out of memory");
    sp->store = s;
    sp->fd = -1;
    if (owner != NULL && max_concurrent != 0) {
        sp->owner_hash = owner_hash(owner);
        pthread_mutex_lock(&s->lock);
        int rc = owner_take(s, sp->owner_hash, max_concurrent, err);
        pthread_mutex_unlock(&s->lock);
        if (rc != 0) {
            free(sp);
            return -1;
        }
        sp->counted = true;
    }
    if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r)) {
        spool_free(sp);
        return gw_error_set(err, GW_ERR_INTERNAL, "no random bytes for a blob id");
    }
    sp->blob_id[0] = 'U';
    for (size_t i = 0; i < sizeof(r); i++)
        snprintf(sp->blob_id + 1 + 2 * i, 3, "%02x", r[i]);
    if (path_of(sp->path, s, "tmp", sp->blob_id, "", err) != 0) {
        spool_free(sp);
        return -1;
    }
    sp->fd = open(sp->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (sp->fd < 0) {
        spool_free(sp);
        return gw_error_set(err, GW_ERR_INTERNAL, "cannot create an upload file: %s",
                            strerror(errno));
    }
    *out = sp;
    return 0;
}

int upload_spool_begin(struct upload_store *s, struct upload_spool **out, struct gw_error *err)
{
    return upload_spool_begin_for(s, NULL, 0, out, err);
}

int upload_spool_write(struct upload_spool *sp, const void *data, size_t len,
                       struct gw_error *err)
{
    if (sp->spent || sp->fd < 0)
        return gw_error_set(err, GW_ERR_INTERNAL, "upload already finished");
    if (sp->size + len > sp->store->limits.max_size || sp->size + len < sp->size)
        return gw_error_set(err, GW_ERR_TOO_LARGE, "upload larger than maxSizeUpload");
    const char *p = data;
    size_t done = 0;
    while (done < len) {
        ssize_t w = write(sp->fd, p + done, len - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return gw_error_set(err, errno == ENOSPC ? GW_ERR_LIMIT : GW_ERR_INTERNAL,
                                "cannot write an upload: %s", strerror(errno));
        done += (size_t)w;
    }
    sp->size += len;
    return 0;
}

uint64_t upload_spool_size(const struct upload_spool *sp)
{
    return sp->size;
}

void upload_spool_abort(struct upload_spool **spp)
{
    struct upload_spool *sp = *spp;
    if (sp == NULL)
        return;
    if (sp->fd >= 0)
        close(sp->fd);
    if (sp->path[0] != '\0')
        unlink(sp->path);
    spool_free(sp);
    *spp = NULL;
}

struct aged {
    char name[UPLOAD_BLOB_ID_LEN + 1];
    struct timespec mtime;      /* to the nanosecond: uploads of one second
                                 * still expire oldest first */
    uint64_t size;
};

static int by_age(const void *a, const void *b)
{
    const struct aged *x = a, *y = b;
    if (x->mtime.tv_sec != y->mtime.tv_sec)
        return x->mtime.tv_sec < y->mtime.tv_sec ? 1 : -1;
    if (x->mtime.tv_nsec != y->mtime.tv_nsec)
        return x->mtime.tv_nsec < y->mtime.tv_nsec ? 1 : -1;
    return strcmp(x->name, y->name);
}

/* Expires one account directory (lock held). Newest first; the ones past
 * the limits or too old go. */
static unsigned expire_account(struct upload_store *s, const char *account, time_t now)
{
    char path[PATH_MAX];
    unsigned removed = 0;
    if (path_of(path, s, account, NULL, "", NULL) != 0)
        return 0;
    DIR *d = opendir(path);
    if (d == NULL)
        return 0;
    struct aged *v = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    for (unsigned i = 0; i < UPLOAD_SCAN_MAX && (e = readdir(d)) != NULL; i++) {
        struct stat st;
        if (!upload_blob_id_is(e->d_name) || fstatat(dirfd(d), e->d_name, &st, 0) != 0)
            continue;
        if (n == cap) {
            size_t ncap = cap ? 2 * cap : 32;
            struct aged *g = realloc(v, ncap * sizeof(*v));
            if (g == NULL)
                break;
            v = g;
            cap = ncap;
        }
        memcpy(v[n].name, e->d_name, UPLOAD_BLOB_ID_LEN + 1);
        v[n].mtime = st.st_mtim;
        v[n].size = (uint64_t)st.st_size;
        n++;
    }
    qsort(v, n, sizeof(*v), by_age);
    uint64_t bytes = 0;
    for (size_t i = 0; i < n; i++) {
        bytes += v[i].size;
        if (i < s->limits.max_count && bytes <= s->limits.max_bytes &&
            now - v[i].mtime.tv_sec <= (time_t)s->limits.max_age_s)
            continue;
        char type[UPLOAD_BLOB_ID_LEN + 8];
        snprintf(type, sizeof(type), "%s.type", v[i].name);
        unlinkat(dirfd(d), v[i].name, 0);
        unlinkat(dirfd(d), type, 0);
        bytes -= v[i].size;
        removed++;
    }
    free(v);
    closedir(d);
    /* An account with nothing left keeps no directory (commits create it
     * again under the same lock). */
    if (n == removed)
        rmdir(path);
    return removed;
}

unsigned upload_store_expire(struct upload_store *s, time_t now)
{
    unsigned removed = 0;
    pthread_mutex_lock(&s->lock);
    DIR *d = opendir(s->dir);
    struct dirent *e;
    for (unsigned i = 0; d != NULL && i < UPLOAD_SCAN_MAX && (e = readdir(d)) != NULL; i++)
        if (account_ok(e->d_name) && strcmp(e->d_name, "tmp") != 0)
            removed += expire_account(s, e->d_name, now);
    if (d != NULL)
        closedir(d);
    pthread_mutex_unlock(&s->lock);
    return removed;
}

/* Gives a committed blob an mtime later than every earlier one (lock
 * held): the file system's own clock is too coarse to order uploads made
 * within a few milliseconds, and expiry goes oldest first. */
static void stamp(struct upload_store *s, const char *path)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    if (now.tv_sec < s->last_stamp.tv_sec ||
        (now.tv_sec == s->last_stamp.tv_sec && now.tv_nsec <= s->last_stamp.tv_nsec)) {
        now = s->last_stamp;
        if (++now.tv_nsec == 1000000000L) {
            now.tv_sec++;
            now.tv_nsec = 0;
        }
    }
    s->last_stamp = now;
    struct timespec times[2] = { now, now };
    utimensat(AT_FDCWD, path, times, 0);
}

static int write_file(const char *path, const char *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    ssize_t w = write(fd, data, len);
    close(fd);
    return w == (ssize_t)len ? 0 : -1;
}

int upload_spool_commit(struct upload_spool *sp, const char *account_id, const char *type,
                        struct upload_info *out, struct gw_error *err)
{
    struct upload_store *s = sp->store;
    char dir[PATH_MAX], path[PATH_MAX], type_path[PATH_MAX];
    int rc = -1;
    if (sp->spent)
        return gw_error_set(err, GW_ERR_INTERNAL, "upload already finished");
    sp->spent = true;
    if (!account_ok(account_id) || strcmp(account_id, "tmp") == 0) {
        gw_error_set(err, GW_ERR_INVALID, "not an account id");
        goto out;
    }
    memset(out, 0, sizeof(*out));
    snprintf(out->type, sizeof(out->type), "%s", type != NULL ? type : "application/octet-stream");
    memcpy(out->blob_id, sp->blob_id, sizeof(out->blob_id));
    out->size = sp->size;
    if (close(sp->fd) != 0) {
        sp->fd = -1;
        gw_error_set(err, GW_ERR_INTERNAL, "cannot write an upload: %s", strerror(errno));
        goto out;
    }
    sp->fd = -1;
    if (path_of(dir, s, account_id, NULL, "", err) != 0 ||
        path_of(path, s, account_id, sp->blob_id, "", err) != 0 ||
        path_of(type_path, s, account_id, sp->blob_id, ".type", err) != 0)
        goto out;
    pthread_mutex_lock(&s->lock);
    /* The type file first: a blob file is only ever seen complete. */
    if (make_dir(dir, err) == 0) {
        if (write_file(type_path, out->type, strlen(out->type)) != 0 ||
            rename(sp->path, path) != 0) {
            unlink(type_path);
            gw_error_set(err, GW_ERR_INTERNAL, "cannot store an upload: %s", strerror(errno));
        } else {
            rc = 0;
            stamp(s, path);
            expire_account(s, account_id, time(NULL));
        }
    }
    pthread_mutex_unlock(&s->lock);
out:
    if (rc == 0)
        sp->path[0] = '\0';        /* renamed away: nothing to remove */
    /* No longer arriving: the slot is free before the reply goes out, so
     * a client that waits for it may upload again at once. */
    if (sp->counted) {
        pthread_mutex_lock(&s->lock);
        owner_release(s, sp->owner_hash);
        pthread_mutex_unlock(&s->lock);
        sp->counted = false;
    }
    return rc;
}

int upload_store_read(struct upload_store *s, const char *account_id, const char *blob_id,
                      char **data, size_t *len, struct upload_info *info, struct gw_error *err)
{
    char path[PATH_MAX];
    struct stat st;
    if (s == NULL || !account_ok(account_id) || !upload_blob_id_is(blob_id) ||
        path_of(path, s, account_id, blob_id, "", NULL) != 0)
        return gw_error_set(err, GW_ERR_NOTFOUND, "no such upload");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return gw_error_set(err, GW_ERR_NOTFOUND, "no such upload");
    /* Expired is gone, even before a commit got round to removing it. */
    if (fstat(fd, &st) != 0 || time(NULL) - st.st_mtime > (time_t)s->limits.max_age_s) {
        close(fd);
        return gw_error_set(err, GW_ERR_NOTFOUND, "no such upload");
    }
    size_t size = (size_t)st.st_size;
    char *buf = malloc(size + 1);
    size_t got = 0;
    while (buf != NULL && got < size) {
        ssize_t r = read(fd, buf + got, size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    if (buf == NULL || got != size) {
        free(buf);
        return gw_error_set(err, buf == NULL ? GW_ERR_NOMEM : GW_ERR_INTERNAL,
                            "cannot read an upload");
    }
    buf[size] = '\0';
    if (info != NULL) {
        memset(info, 0, sizeof(*info));
        memcpy(info->blob_id, blob_id, UPLOAD_BLOB_ID_LEN + 1);
        info->size = size;
        snprintf(info->type, sizeof(info->type), "application/octet-stream");
        char type_path[PATH_MAX];
        if (path_of(type_path, s, account_id, blob_id, ".type", NULL) == 0) {
            int tfd = open(type_path, O_RDONLY | O_CLOEXEC);
            if (tfd >= 0) {
                ssize_t r = read(tfd, info->type, sizeof(info->type) - 1);
                info->type[r > 0 ? (size_t)r : 0] = '\0';
                close(tfd);
            }
        }
    }
    *data = buf;
    *len = size;
    return 0;
}
