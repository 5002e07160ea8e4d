/* demo_tls.c - a private CA and a server certificate for the demo servers,
 * made with the openssl command line tool so no key material is handled in
 * the gateway process.
 */
#include "demo_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const default_names[] = {"localhost", "127.0.0.1", NULL};

/* "DNS:localhost,IP:127.0.0.1" from the list; -1 if it does not fit or a
 * name could break the openssl extension file. */
static int san_line(const char *const *names, char *buf, size_t size, struct gw_error *err)
{
    size_t used = 0;

    buf[0] = '\0';
    for (size_t i = 0; names[i] != NULL; i++) {
        unsigned char addr[16];
        const char *name = names[i];
        bool ip = inet_pton(AF_INET, name, addr) == 1 || inet_pton(AF_INET6, name, addr) == 1;

        if (name[0] == '\0' || strpbrk(name, ",\n\r=") != NULL)
            return gw_error_set(err, GW_ERR_INVALID, "demo: bad certificate name");
        int n = snprintf(buf + used, size - used, "%s%s:%s", used ? "," : "", ip ? "IP" : "DNS",
                         name);
        if (n < 0 || (size_t)n >= size - used)
            return gw_error_set(err, GW_ERR_INVALID, "demo: too many certificate names");
        used += (size_t)n;
    }
    if (used == 0)
        return gw_error_set(err, GW_ERR_INVALID, "demo: no certificate names");
    return 0;
}

/* True when path holds exactly text. */
static bool file_equals(const char *path, const char *text)
{
    char buf[1024];
    size_t len = strlen(text);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n;

    if (fd < 0)
        return false;
    n = read(fd, buf, sizeof(buf));
    close(fd);
    return n >= 0 && (size_t)n == len && memcmp(buf, text, len) == 0;
}

static int make_ca(const char *dir, const char *log_path, struct gw_error *err)
{
    char key[DEMO_PATH_MAX], cert[DEMO_PATH_MAX];

    if (demo_path(key, sizeof(key), err, "%s/ca.key", dir) != 0 ||
        demo_path(cert, sizeof(cert), err, "%s/ca.pem", dir) != 0)
        return -1;
    if (access(key, R_OK) == 0 && access(cert, R_OK) == 0)
        return 0;
    const char *const argv[] = {
        "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
        "-nodes", "-keyout", key, "-out", cert, "-days", "3650", "-sha256",
        "-subj", "/O=jmap-gateway demo/CN=jmap-gateway demo CA",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign", NULL};
    if (demo_run(argv, log_path, err) != 0)
        return -1;
    if (chmod(key, 0600) != 0)
        return gw_error_set(err, GW_ERR_UNAVAILABLE, "demo: chmod %s: %s", key, strerror(errno));
    return 0;
}

static int make_server(const char *dir, const char *san, const char *log_path,
                       struct gw_error *err)
{
    char key[DEMO_PATH_MAX], csr[DEMO_PATH_MAX], cert[DEMO_PATH_MAX];
    char ext[DEMO_PATH_MAX], ca_key[DEMO_PATH_MAX], ca_cert[DEMO_PATH_MAX];
    char ext_text[1200];

    if (demo_path(key, sizeof(key), err, "%s/server.key", dir) != 0 ||
        demo_path(csr, sizeof(csr), err, "%s/server.csr", dir) != 0 ||
        demo_path(cert, sizeof(cert), err, "%s/server.pem", dir) != 0 ||
        demo_path(ext, sizeof(ext), err, "%s/server.ext", dir) != 0 ||
        demo_path(ca_key, sizeof(ca_key), err, "%s/ca.key", dir) != 0 ||
        demo_path(ca_cert, sizeof(ca_cert), err, "%s/ca.pem", dir) != 0 ||
        demo_path(ext_text, sizeof(ext_text), err,
                  "basicConstraints=critical,CA:FALSE\n"
                  "keyUsage=critical,digitalSignature,keyEncipherment\n"
                  "extendedKeyUsage=serverAuth\n"
                  "subjectAltName=%s\n", san) != 0)
        return -1;
    /* The extension file doubles as the record of which names were issued. */
    if (file_equals(ext, ext_text) && access(key, R_OK) == 0 && access(cert, R_OK) == 0)
        return 0;
    unlink(ext);
    /* Each reissue gets a fresh serial so clients never see two certificates
     * with one serial; the names go to the record only after signing. */
    char serial[40], tmp_ext[DEMO_PATH_MAX];
    if (demo_path(serial, sizeof(serial), err, "0x%lx%04lx", (unsigned long)time(NULL),
                  (unsigned long)getpid() & 0xffff) != 0 ||
        demo_path(tmp_ext, sizeof(tmp_ext), err, "%s/server.ext.new", dir) != 0 ||
        demo_write_file(tmp_ext, ext_text, strlen(ext_text), 0600, err) != 0)
        return -1;
    const char *const req[] = {
        "openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
        "-nodes", "-keyout", key, "-out", csr, "-subj", "/O=jmap-gateway demo/CN=demo server",
        NULL};
    const char *const sign[] = {
        "openssl", "x509", "-req", "-in", csr, "-CA", ca_cert, "-CAkey", ca_key,
        "-set_serial", serial, "-days", "825", "-sha256", "-extfile", tmp_ext, "-out", cert,
        NULL};
    if (demo_run(req, log_path, err) != 0 || demo_run(sign, log_path, err) != 0)
        return -1;
    unlink(csr);
    if (rename(tmp_ext, ext) != 0)
        return gw_error_set(err, GW_ERR_UNAVAILABLE, "demo: rename %s: %s", ext, strerror(errno));
    /* Dovecot's config process reads it as the user who started Dovecot. */
    if (chmod(key, 0600) != 0)
        return gw_error_set(err, GW_ERR_UNAVAILABLE, "demo: chmod %s: %s", key, strerror(errno));
    return 0;
}

int demo_tls_ensure(const char *dir, const char *const *names, const char *log_path,
                    struct gw_error *err)
{
    char san[1024];

    if (names == NULL)
        names = default_names;
    if (san_line(names, san, sizeof(san), err) != 0 || demo_mkdirs(dir, 0755, err) != 0)
        return -1;
    if (make_ca(dir, log_path, err) != 0)
        return -1;
    return make_server(dir, san, log_path, err);
}
