/* SPDX-License-Identifier: MIT */
/* crossriver serve as a client sees it: the samples store served on 127.0.0.1 (a free port),
 * raw HTTP/1.0 requests, answers compared with `crossriver trace` on the same store, GeoJSON
 * read back by GDAL, errors, concurrent clients, bearer tokens, the tile cache following an
 * import, SIGHUP and network reloads under load, and a clean stop by SIGTERM to the PID. */
#include "core/core.h"
#include "server/server_internal.h"
#include "test_common.h"
#include "test_store.h"

#include <arpa/inet.h>
#include <errno.h>
#include <gdal.h>
#include <jansson.h>
#include <math.h>
#include <netinet/in.h>
#include <ogr_api.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

static char g_dir[64];
static int g_port;
static pid_t g_pid;

typedef struct {
    int status;
    char head[2048];
    char *body; /* malloc'd, NUL-terminated (binary bodies: see len) */
    size_t len;
} http_reply;

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* A connection to the server under test, or -1. */
static int connect_server(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)g_port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* One request with extra header lines ("Name: value\r\n"…) and a body (may be ""); 0 when the
 * connection failed. */
static int http_hb(const char *method, const char *target, const char *headers, const char *body,
                   http_reply *r)
{
    memset(r, 0, sizeof *r);
    int fd = connect_server();
    if (fd < 0) {
        return 0;
    }
    size_t blen = strlen(body);
    char *req = malloc(2048 + blen);
    int n = snprintf(req, 2048, "%s %s HTTP/1.0\r\nHost: 127.0.0.1:%d\r\n%s", method, target,
                     g_port, headers);
    if (blen) {
        n += snprintf(req + n, 2048 - (size_t)n, "Content-Length: %zu\r\n", blen);
    }
    n += snprintf(req + n, 2048 - (size_t)n, "\r\n");
    memcpy(req + n, body, blen);
    size_t total = (size_t)n + blen, sent = 0;
    while (sent < total) {
        /* a server that refuses from the headers (401, 413…) answers and closes before the
         * body is all sent: then stop writing (no SIGPIPE) and read what it answered */
        ssize_t w = send(fd, req + sent, total - sent, MSG_NOSIGNAL);
        if (w < 0 && (errno == EPIPE || errno == ECONNRESET)) {
            break;
        }
        assert_true(w > 0);
        sent += (size_t)w;
    }
    free(req);
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    ssize_t got;
    while ((got = read(fd, buf + len, cap - len - 1)) > 0) {
        len += (size_t)got;
        if (cap - len < 1024) {
            cap *= 2;
            buf = realloc(buf, cap);
        }
    }
    close(fd);
    buf[len] = '\0';
    char *sep = strstr(buf, "\r\n\r\n");
    assert_non_null(sep);
    size_t hl = (size_t)(sep - buf);
    assert_true(hl < sizeof r->head);
    memcpy(r->head, buf, hl);
    r->head[hl] = '\0';
    assert_int_equal(sscanf(buf, "HTTP/1.%*d %d", &r->status), 1);
    r->len = len - hl - 4;
    r->body = malloc(r->len + 1);
    memcpy(r->body, sep + 4, r->len + 1);
    free(buf);
    return 1;
}

static int http_h(const char *method, const char *target, const char *headers, http_reply *r)
{
    return http_hb(method, target, headers, "", r);
}

static int http(const char *method, const char *target, http_reply *r)
{
    return http_h(method, target, "", r);
}

/* Write a reply's body to g_dir/name (path out) and free it. */
static void save_body(http_reply *r, const char *name, char *path, size_t n)
{
    snprintf(path, n, "%s/%s", g_dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(r->body, 1, r->len, f), r->len);
    fclose(f);
    free(r->body);
    r->body = NULL;
}

static json_t *http_json(const char *target, int want_status, http_reply *r)
{
    assert_true(http("GET", target, r));
    if (r->status != want_status) {
        fail_msg("GET %s: status %d, wanted %d: %s", target, r->status, want_status, r->body);
    }
    json_error_t je;
    json_t *j = json_loads(r->body, 0, &je);
    if (j == NULL) {
        fail_msg("GET %s: body is not JSON (%s): %.200s", target, je.text, r->body);
    }
    return j;
}

static void sh(const char *fmt, const char *arg)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd, fmt, arg);
    int st = system(cmd);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        fail_msg("command failed (%d): %s", st, cmd);
    }
}

/* `crossriver trace ARGS` on the test store, parsed. */
static json_t *cli_trace(const char *args)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "\"$CROSSRIVER_BIN\" trace --store %s/s.sqlite %s > %s/cli.json",
             g_dir, args, g_dir);
    sh("%s", cmd);
    char path[128];
    snprintf(path, sizeof path, "%s/cli.json", g_dir);
    json_error_t je;
    json_t *j = json_load_file(path, 0, &je);
    assert_non_null(j);
    return j;
}

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t l = sizeof a;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &l), 0);
    close(fd);
    return ntohs(a.sin_port);
}

/* The token file: "all" opens everything, "qp" the contacts and outfalls of Qingpu (310118),
 * "old" expired; extra (or NULL) adds one more entry as written. */
static void write_tokens(const char *extra)
{
    char path[128], tmp[140], all[65], qp[65], old[65];
    snprintf(path, sizeof path, "%s/tokens.json", g_dir);
    snprintf(tmp, sizeof tmp, "%s.new", path);
    cr_sha256_hex("tok-all", 7, all);
    cr_sha256_hex("tok-qp", 6, qp);
    cr_sha256_hex("tok-old", 7, old);
    FILE *f = fopen(tmp, "w");
    assert_non_null(f);
    fprintf(f,
            "{\"tokens\": [\n"
            " {\"name\": \"all\", \"token_sha256\": \"%s\", \"layers\": \"*\","
            " \"jurisdictions\": \"*\"},\n"
            " {\"name\": \"qp\", \"token_sha256\": \"%s\", \"layers\": [\"contacts\","
            " \"outfalls\"], \"jurisdictions\": [\"310118\"]},\n"
            " {\"name\": \"old\", \"token_sha256\": \"%s\", \"layers\": \"*\","
            " \"jurisdictions\": \"*\", \"expires\": \"2020-01-01\"}%s%s]}\n",
            all, qp, old, extra ? ",\n " : "", extra ? extra : "");
    fclose(f);
    assert_int_equal(rename(tmp, path), 0); /* as an operator would: never half a file */
}

/* the one agency portal (besides another) allowed to embed the map: the CORS allowlist */
#define PORTAL "https://portal.jiashan.example"

/* Start the server on g_port over the store in g_dir (its log appended to server.log) and
 * wait until it answers. */
static void start_server(void)
{
    char store[128], port[16], pidfile[128], log[128], tokens[128];
    snprintf(tokens, sizeof tokens, "%s/tokens.json", g_dir);
    snprintf(store, sizeof store, "%s/s.sqlite", g_dir);
    snprintf(port, sizeof port, "%d", g_port);
    snprintf(pidfile, sizeof pidfile, "%s/server.pid", g_dir);
    snprintf(log, sizeof log, "%s/server.log", g_dir);
    remove(pidfile);
    g_pid = fork();
    assert_true(g_pid >= 0);
    if (g_pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM); /* a test that dies takes its server with it */
        if (freopen(log, "a", stderr) == NULL) {
            _exit(126);
        }
        execl(getenv("CROSSRIVER_BIN"), "crossriver", "serve", "--store", store, "--host",
              "127.0.0.1", "--port", port, "--threads", "3", "--cors",
              PORTAL ",https://map.other.example", "--pid-file", pidfile, "--tokens", tokens,
              "--poll-ms", "100", (char *)NULL);
        _exit(127);
    }
    /* ready when the PID file exists and a request is answered (20 s: sanitizer builds) */
    for (int i = 0; i < 400; i++) {
        http_reply r;
        if (access(pidfile, F_OK) == 0 && http("GET", "/health", &r)) {
            free(r.body);
            FILE *f = fopen(pidfile, "r");
            int pid = 0;
            assert_int_equal(fscanf(f, "%d", &pid), 1);
            fclose(f);
            assert_int_equal(pid, g_pid);
            return;
        }
        assert_int_equal(waitpid(g_pid, NULL, WNOHANG), 0); /* still running */
        sleep_ms(50);
    }
    fail_msg("server did not answer on 127.0.0.1:%d", g_port);
}

static int setup(void **state)
{
    (void)state;
    snprintf(g_dir, sizeof g_dir, "/tmp/crossriver-server-XXXXXX");
    assert_non_null(mkdtemp(g_dir));
    test_samples_store(g_dir);
    write_tokens(NULL);
    g_port = free_port();
    start_server();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", g_dir);
    return system(cmd) == 0 ? 0 : 1;
}

static void test_health_counts_the_network(void **state)
{
    (void)state;
    http_reply r;
    json_t *j = http_json("/health", 200, &r);
    assert_string_equal(json_string_value(json_object_get(j, "status")), "ok");
    assert_int_equal(json_integer_value(json_object_get(j, "reaches")), 20); /* reaches.geojson */
    assert_true(json_integer_value(json_object_get(j, "nodes")) > 0);
    assert_non_null(strstr(r.head, "Content-Type: application/json"));
    assert_null(strstr(r.head, "Access-Control-Allow-Origin")); /* not a map resource */
    json_decref(j);
    free(r.body);
}

/* The HTTP answer is the command-line answer, minus the restricted contact fields. */
/* Returns the number of contacts compared. */
static size_t same_as_cli(const char *query, const char *cli_args)
{
    http_reply r;
    json_t *web = http_json(query, 200, &r);
    json_t *cli = cli_trace(cli_args);
    assert_true(json_array_size(json_object_get(web, "reaches")) > 0);
    assert_true(json_equal(json_object_get(web, "reaches"), json_object_get(cli, "reaches")));
    assert_true(json_equal(json_object_get(web, "features"), json_object_get(cli, "features")));
    json_t *wj = json_object_get(web, "jurisdictions"), *cj = json_object_get(cli, "jurisdictions");
    assert_int_equal(json_array_size(wj), json_array_size(cj));
    size_t i, contacts = 0;
    json_t *v;
    json_array_foreach(wj, i, v)
    {
        json_t *c = json_array_get(cj, i);
        assert_string_equal(json_string_value(json_object_get(v, "code")),
                            json_string_value(json_object_get(c, "code")));
        size_t k;
        json_t *wc;
        json_array_foreach(json_object_get(v, "contacts"), k, wc)
        {
            json_t *cc = json_array_get(json_object_get(c, "contacts"), k);
            assert_null(json_object_get(wc, "phone"));   /* restricted: never served */
            assert_null(json_object_get(wc, "liaison")); /* restricted: never served */
            assert_non_null(json_object_get(cc, "liaison"));
            assert_true(
                json_equal(json_object_get(wc, "duty_phone"), json_object_get(cc, "duty_phone")));
            contacts++;
        }
    }
    json_decref(web);
    json_decref(cli);
    free(r.body);
    return contacts;
}

static void test_trace_matches_the_command_line(void **state)
{
    (void)state;
    same_as_cli("/api/trace?reach=DCH-01&direction=down", "--reach DCH-01 --direction down");
    same_as_cli("/api/trace?reach=DCH-01&direction=down&max_km=5&velocity=0.3",
                "--reach DCH-01 --direction down --max-km 5 --velocity 0.3");
    same_as_cli("/api/trace?at=120.625,31.25&direction=up&mode=main",
                "--at 120.625,31.25 --direction up --mode main");
    /* the downstream trace from DCH-01 reaches another county: someone to notify */
    http_reply r;
    json_t *j = http_json("/api/trace?reach=DCH-01&direction=down", 200, &r);
    assert_true(json_array_size(json_object_get(j, "jurisdictions")) >= 1);
    json_decref(j);
    free(r.body);
    /* beyond 汾湖 (20 days' residence) the water is there within days, not three weeks later:
     * the lake mixes and dilutes; the spill's tail lasts ln(100) residence times; the Jinze
     * intake gets its estimate too */
    j = cli_trace("--feature outfalls:WJ-TPH-0007 --direction down --spill-kg 500 --spill-hours 4"
                  " --json");
    size_t i;
    json_t *f;
    int fh = 0, intake = 0;
    json_array_foreach(json_object_get(j, "features"), i, f)
    {
        const char *id = json_string_value(json_object_get(f, "id"));
        json_t *sp = json_object_get(f, "spill");
        if (strcmp(id, "SEC-FH-DQ") == 0) {
            fh = 1;
            assert_true(json_number_value(json_object_get(f, "time_h")) < 100);
            assert_true(fabs(json_number_value(json_object_get(sp, "mixed_lake_residence_h")) -
                             480) < 1e-9);
            assert_true(json_number_value(json_object_get(sp, "trailing_edge_h")) > 480 * log(100));
        }
        if (strcmp(id, "SK-JZ-01") == 0) {
            intake = json_number_value(json_object_get(sp, "peak_mg_l")) > 0;
        }
    }
    assert_true(fh);
    assert_true(intake);
    json_decref(j);
}

static void test_geojson_reads_back_in_gdal(void **state)
{
    (void)state;
    http_reply r;
    json_t *j = http_json("/api/trace?reach=DCH-01&direction=down&format=geojson", 200, &r);
    assert_non_null(strstr(r.head, "Content-Type: application/geo+json"));
    assert_string_equal(json_string_value(json_object_get(j, "type")), "FeatureCollection");
    size_t n = json_array_size(json_object_get(j, "features"));
    assert_true(n > 0);
    char path[128];
    save_body(&r, "trace.geojson", path, sizeof path);
    GDALAllRegister();
    GDALDatasetH ds = GDALOpenEx(path, GDAL_OF_VECTOR, NULL, NULL, NULL);
    assert_non_null(ds);
    OGRLayerH lyr = GDALDatasetGetLayer(ds, 0);
    assert_int_equal(OGR_L_GetFeatureCount(lyr, 1), (GIntBig)n);
    OGRFeatureH feat;
    size_t with_geom = 0;
    while ((feat = OGR_L_GetNextFeature(lyr)) != NULL) {
        OGRGeometryH geom = OGR_F_GetGeometryRef(feat);
        if (geom) {
            OGREnvelope e;
            OGR_G_GetEnvelope(geom, &e);
            /* the zone: 120.3–121.3 E, 30.7–31.4 N */
            assert_true(e.MinX > 120.3 && e.MaxX < 121.3 && e.MinY > 30.7 && e.MaxY < 31.4);
            with_geom++;
        }
        OGR_F_Destroy(feat);
    }
    assert_int_equal(with_geom, n);
    GDALClose(ds);
    json_decref(j);
    free(r.body);
}

static void expect_error(const char *method, const char *target, int status, const char *words)
{
    http_reply r;
    assert_true(http(method, target, &r));
    if (r.status != status || strstr(r.body, words) == NULL) {
        fail_msg("%s %s: %d %s; wanted %d with '%s'", method, target, r.status, r.body, status,
                 words);
    }
    json_t *j = json_loads(r.body, 0, NULL);
    assert_non_null(j);
    assert_int_equal(json_integer_value(json_object_get(j, "status")), status);
    json_decref(j);
    if (status == 405) {
        assert_non_null(strstr(r.head, "Allow: GET"));
    }
    free(r.body);
}

static void test_bad_requests_get_clear_errors(void **state)
{
    (void)state;
    expect_error("GET", "/api/trace?reach=DCH-01&direction=sideways", 400, "direction");
    expect_error("GET", "/api/trace?reach=DCH-01", 400, "direction");
    expect_error("GET", "/api/trace?direction=up", 400, "one of reach, feature, at");
    expect_error("GET", "/api/trace?reach=DCH-01&at=120.6,31.2&direction=up", 400, "one of");
    expect_error("GET", "/api/trace?reach=NOPE&direction=up", 404, "NOPE");
    expect_error("GET", "/api/trace?feature=outfalls:NOPE&direction=down", 404, "NOPE");
    expect_error("GET", "/api/trace?reach=DCH-01&direction=down&max_km=abc", 400, "max_km");
    expect_error("GET", "/api/trace?reach=DCH-01&direction=down&max_km=-1", 400, "max_km");
    expect_error("GET", "/api/trace?reach=DCH-01&direction=down&colour=red", 400, "colour");
    expect_error("GET", "/api/trace?reach=DCH-01&reach=X&direction=down", 400, "repeated");
    expect_error("GET", "/api/trace?at=500,31&direction=down", 400, "at");
    expect_error("GET", "/api/trace?at=0,0&direction=down", 404, "no reach within");
    expect_error("GET", "/api/trace?reach=DCH-01&direction=up&spill_kg=10", 400, "downstream");
    expect_error("GET", "/api/trace?reach=DCH-01&direction=down&format=kml", 400, "format");
    expect_error("GET", "/api/trace?reach=DCH-01&direction=down&gates_closed=NOPE", 404, "NOPE");
    expect_error("GET", "/no/such/thing", 404, "no such resource");
    /* routes that take no parameters refuse unknown ones like the rest (the route table) */
    expect_error("GET", "/health?x=1", 400, "unknown parameter 'x'");
    expect_error("GET", "/metrics?debug=1", 400, "unknown parameter 'debug'");
    expect_error("GET", "/web/app.mjs?v=2", 400, "unknown parameter 'v'");
    expect_error("GET", "/?q=1", 400, "unknown parameter 'q'");
    expect_error("POST", "/api/trace", 405, "method not allowed");
    /* the server is still healthy after all that */
    http_reply r;
    json_t *j = http_json("/health", 200, &r);
    json_decref(j);
    free(r.body);
}

/* The bytes of `crossriver tile ARGS`. */
static char *cli_tile(const char *args, size_t *len)
{
    char cmd[1024], path[128];
    snprintf(path, sizeof path, "%s/cli.mvt", g_dir);
    snprintf(cmd, sizeof cmd, "\"$CROSSRIVER_BIN\" tile --quiet --store %s/s.sqlite %s --out %s",
             g_dir, args, path);
    sh("%s", cmd);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char *buf = malloc(1 << 22);
    *len = fread(buf, 1, 1 << 22, f);
    fclose(f);
    return buf;
}

static const char *header(const http_reply *r, const char *name, char *out, size_t n)
{
    const char *p = strstr(r->head, name);
    if (p == NULL) {
        return NULL;
    }
    p += strlen(name);
    size_t k = strcspn(p, "\r\n");
    snprintf(out, n, "%.*s", (int)k, p);
    return out;
}

/* Tiles: the bytes `crossriver tile` writes; gzip when asked; ETag and 304; errors. */
static void test_tiles_gzip_etag_and_errors(void **state)
{
    (void)state;
    size_t cli_len;
    char *cli = cli_tile("10/855/419", &cli_len);
    assert_true(cli_len > 1000);
    http_reply r;
    assert_true(http("GET", "/tiles/10/855/419.mvt", &r));
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.head, "Content-Type: application/vnd.mapbox-vector-tile"));
    assert_null(strstr(r.head, "Content-Encoding"));
    assert_int_equal(r.len, cli_len);
    assert_memory_equal(r.body, cli, cli_len);
    char etag[80], etag_gz[80];
    assert_non_null(header(&r, "ETag: ", etag, sizeof etag));
    free(r.body);

    assert_true(http_h("GET", "/tiles/10/855/419.mvt", "Accept-Encoding: gzip, br\r\n", &r));
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.head, "Content-Encoding: gzip"));
    assert_non_null(strstr(r.head, "Vary: Accept-Encoding"));
    assert_true(r.len < cli_len);
    assert_non_null(header(&r, "ETag: ", etag_gz, sizeof etag_gz));
    assert_string_not_equal(etag, etag_gz); /* another representation, another tag */
    /* zlib inflates it back to the same tile */
    char *plain = malloc(cli_len + 16);
    z_stream zs = {0};
    assert_int_equal(inflateInit2(&zs, 15 + 16), Z_OK);
    zs.next_in = (Bytef *)r.body;
    zs.avail_in = (uInt)r.len;
    zs.next_out = (Bytef *)plain;
    zs.avail_out = (uInt)cli_len + 16;
    assert_int_equal(inflate(&zs, Z_FINISH), Z_STREAM_END);
    assert_int_equal(zs.total_out, cli_len);
    inflateEnd(&zs);
    assert_memory_equal(plain, cli, cli_len);
    free(plain);
    free(r.body);

    /* revalidation: either tag gives 304 with no body */
    char h[160];
    snprintf(h, sizeof h, "If-None-Match: %s\r\n", etag);
    assert_true(http_h("GET", "/tiles/10/855/419.mvt", h, &r));
    assert_int_equal(r.status, 304);
    assert_int_equal(r.len, 0);
    free(r.body);
    snprintf(h, sizeof h, "If-None-Match: \"0000\", %s\r\nAccept-Encoding: gzip\r\n", etag_gz);
    assert_true(http_h("GET", "/tiles/10/855/419.mvt", h, &r));
    assert_int_equal(r.status, 304);
    free(r.body);
    /* another tile's tag does not match */
    snprintf(h, sizeof h, "If-None-Match: %s\r\n", etag);
    assert_true(http_h("GET", "/tiles/10/856/419.mvt", h, &r));
    assert_int_equal(r.status, 200);
    free(r.body);

    /* a subset, as the CLI gives it */
    free(cli);
    cli = cli_tile("10/855/419 --layers reaches,lakes", &cli_len);
    assert_true(http("GET", "/tiles/10/855/419.mvt?layers=reaches,lakes", &r));
    assert_int_equal(r.status, 200);
    assert_int_equal(r.len, cli_len);
    assert_memory_equal(r.body, cli, cli_len);
    free(r.body);
    free(cli);
    /* an empty tile (below every minzoom) is an empty 200 */
    assert_true(http("GET", "/tiles/3/6/3.mvt", &r));
    assert_int_equal(r.status, 200);
    assert_int_equal(r.len, 0);
    free(r.body);

    expect_error("GET", "/tiles/23/0/0.mvt", 400, "no tile 23/0/0");
    expect_error("GET", "/tiles/2/4/1.mvt", 400, "no tile 2/4/1");
    expect_error("GET", "/tiles/2/-1/1.mvt", 404, "/tiles/{z}/{x}/{y}.mvt");
    expect_error("GET", "/tiles/02/1/1.mvt", 404, "in decimal digits"); /* one spelling */
    expect_error("GET", "/tiles/2/+1/1.mvt", 404, "in decimal digits");
    expect_error("GET", "/tiles/2/99999999999/1.mvt", 404, "in decimal digits");
    expect_error("GET", "/tiles/10/855/419.mvt?layers=nope", 400, "'nope' is not a tiled layer");
    expect_error("GET", "/tiles/10/855/419.mvt?layers=contacts", 400, "not a tiled layer");
    expect_error("GET", "/tiles/10/855/419.mvt?colour=red", 400, "colour");
    expect_error("GET", "/tiles/1/2/3.png", 404, "/tiles/{z}/{x}/{y}.mvt");
    expect_error("GET", "/tiles/1/2/3.mvt.bak", 404, "/tiles/{z}/{x}/{y}.mvt");
    expect_error("GET", "/tiles/../../etc/passwd", 404, "/tiles/{z}/{x}/{y}.mvt");
    expect_error("GET", "/tiles/x/y/z.mvt", 404, "/tiles/{z}/{x}/{y}.mvt");
}

/* TileJSON, one feature, search: public view only, consistent with the tiles. */
static void test_tilejson_features_and_search(void **state)
{
    (void)state;
    http_reply r;
    json_t *tj = http_json("/tiles.json", 200, &r);
    free(r.body);
    assert_string_equal(json_string_value(json_object_get(tj, "tilejson")), "3.0.0");
    char want[96];
    snprintf(want, sizeof want, "http://127.0.0.1:%d/tiles/{z}/{x}/{y}.mvt", g_port);
    assert_string_equal(json_string_value(json_array_get(json_object_get(tj, "tiles"), 0)), want);
    json_t *b = json_object_get(tj, "bounds");
    assert_true(json_real_value(json_array_get(b, 0)) < 120.8 &&
                json_real_value(json_array_get(b, 2)) > 120.8 &&
                json_real_value(json_array_get(b, 1)) < 31.0 &&
                json_real_value(json_array_get(b, 3)) > 31.0);
    /* one entry per tiled layer, empty ones included; ids are the layer names */
    static const char *tiled[] = {
        "admin_units",      "findings", "gates",          "hyacinth_reports",    "incidents",
        "intakes",          "lakes",    "mobile_sources", "monitoring_sections", "outfalls",
        "protection_zones", "reaches",  "stockpiles"};
    json_t *vl = json_object_get(tj, "vector_layers");
    assert_int_equal(json_array_size(vl), sizeof tiled / sizeof tiled[0]);
    json_t *outfall_fields = NULL;
    for (size_t i = 0; i < json_array_size(vl); i++) {
        json_t *l = json_array_get(vl, i);
        assert_string_equal(json_string_value(json_object_get(l, "id")), tiled[i]);
        if (strcmp(tiled[i], "outfalls") == 0) {
            outfall_fields = json_object_get(l, "fields");
        }
    }
    assert_non_null(json_object_get(outfall_fields, "outfall_id"));
    assert_string_equal(json_string_value(json_object_get(outfall_fields, "discharge_m3d")),
                        "Number");
    assert_null(json_object_get(outfall_fields, "contact_phone")); /* restricted */
    json_decref(tj);

    json_t *f = http_json("/api/features/outfalls/WJ-TPH-0013", 200, &r);
    assert_non_null(strstr(r.head, "application/geo+json"));
    free(r.body);
    json_t *props = json_object_get(f, "properties");
    assert_string_equal(json_string_value(json_object_get(props, "outfall_id")), "WJ-TPH-0013");
    assert_string_equal(json_string_value(json_object_get(props, "county_code")), "320509");
    assert_non_null(json_string_value(json_object_get(props, "reach_id")));  /* join results */
    assert_true(json_integer_value(json_object_get(props, "batch_id")) > 0); /* provenance */
    assert_null(json_object_get(props, "contact_person"));                   /* restricted */
    assert_null(json_object_get(props, "contact_phone"));                    /* restricted */
    assert_null(json_object_get(props, "extra"));
    json_t *xy = json_object_get(json_object_get(f, "geometry"), "coordinates");
    double lon = json_real_value(json_array_get(xy, 0)),
           lat = json_real_value(json_array_get(xy, 1));
    assert_true(lon > 120.6 && lon < 121.0 && lat > 30.9 && lat < 31.1);
    json_decref(f);
    expect_error("GET", "/api/features/outfalls/NOPE", 404, "no outfalls 'NOPE'");
    expect_error("GET", "/api/features/contacts/C1", 404, "no public layer 'contacts'");
    expect_error("GET", "/api/features/outfalls", 404, "/api/features/{layer}/{id}");
    expect_error("GET", "/api/features/outfalls/WJ-TPH-0013?x=1", 400, "unknown parameter");

    /* search: Chinese names, IDs case-insensitively, limits, wildcards are text */
    json_t *sr = http_json("/api/search?q=%E5%85%83%E8%8D%A1", 200, &r); /* 元荡 */
    free(r.body);
    json_t *res = json_object_get(sr, "results");
    int found_lake = 0;
    for (size_t i = 0; i < json_array_size(res); i++) {
        json_t *h = json_array_get(res, i);
        found_lake |= strcmp(json_string_value(json_object_get(h, "id")), "L-YUANDANG") == 0;
        assert_non_null(strstr(json_string_value(json_object_get(h, "name")), "元荡"));
    }
    assert_true(found_lake);
    json_decref(sr);
    sr = http_json("/api/search?q=tph-00&limit=3", 200, &r);
    free(r.body);
    res = json_object_get(sr, "results");
    assert_int_equal(json_array_size(res), 3);
    for (size_t i = 0; i < 3; i++) {
        assert_non_null(
            strstr(json_string_value(json_object_get(json_array_get(res, i), "id")), "TPH-00"));
    }
    json_decref(sr);
    sr = http_json("/api/search?q=%25", 200, &r); /* "%" matches nothing, not everything */
    free(r.body);
    assert_int_equal(json_array_size(json_object_get(sr, "results")), 0);
    json_decref(sr);
    expect_error("GET", "/api/search", 400, "q:");
    expect_error("GET", "/api/search?q=a&limit=0", 400, "limit");
}

#define CLIENTS 6
#define ROUNDS  10

static void *client(void *arg)
{
    const char *expected = arg;
    long bad = 0;
    for (int i = 0; i < ROUNDS; i++) {
        http_reply r;
        if (!http("GET", "/api/trace?reach=DCH-01&direction=down&spill_kg=100", &r)) {
            bad++;
            continue;
        }
        bad += r.status != 200 || strcmp(r.body, expected) != 0;
        free(r.body);
    }
    return (void *)bad;
}

/* Concurrent clients on the worker threads get the same answer as a lone client. */
static void test_concurrent_clients_agree(void **state)
{
    (void)state;
    http_reply first;
    json_t *j = http_json("/api/trace?reach=DCH-01&direction=down&spill_kg=100", 200, &first);
    assert_non_null(json_object_get(j, "spill"));
    json_decref(j);
    pthread_t t[CLIENTS];
    for (int i = 0; i < CLIENTS; i++) {
        assert_int_equal(pthread_create(&t[i], NULL, client, first.body), 0);
    }
    long bad = 0;
    for (int i = 0; i < CLIENTS; i++) {
        void *v;
        pthread_join(t[i], &v);
        bad += (long)v;
    }
    assert_int_equal(bad, 0);
    free(first.body);
}

/* Every ["get", NAME] inside v names a field of the layer (fields: TileJSON fields). */
static void check_gets(const json_t *v, const json_t *fields, const char *layer_id)
{
    if (json_is_array(v)) {
        const char *op = json_string_value(json_array_get(v, 0));
        if (op && strcmp(op, "get") == 0 && json_array_size(v) == 2) {
            const char *name = json_string_value(json_array_get(v, 1));
            if (json_object_get(fields, name) == NULL) {
                fail_msg("style layer %s reads '%s', which its tiles do not carry", layer_id, name);
            }
        }
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e)
        {
            check_gets(e, fields, layer_id);
        }
    } else if (json_is_object(v)) {
        const char *k;
        json_t *e;
        json_object_foreach((json_t *)v, k, e)
        {
            check_gets(e, fields, layer_id);
        }
    }
}

/* The style passes MapLibre's own validator and only uses layers and fields the tiles have. */
static void test_style_validates_and_matches_the_tiles(void **state)
{
    (void)state;
    http_reply r;
    json_t *style = http_json("/styles/zone.json", 200, &r);
    char path[128], cmd[512];
    save_body(&r, "zone.json", path, sizeof path);
    snprintf(
        cmd, sizeof cmd,
        "node \"%s/node_modules/@maplibre/maplibre-gl-style-spec/dist/gl-style-validate.mjs\" %s",
        getenv("CROSSRIVER_SOURCE"), path);
    assert_int_equal(system(cmd), 0);
    char want[96];
    snprintf(want, sizeof want, "http://127.0.0.1:%d/tiles.json", g_port);
    assert_string_equal(
        json_string_value(json_object_get(
            json_object_get(json_object_get(style, "sources"), "crossriver"), "url")),
        want);
    json_t *tj = http_json("/tiles.json", 200, &r);
    free(r.body);
    json_t *vl = json_object_get(tj, "vector_layers");
    size_t i, used = 0;
    json_t *l;
    json_array_foreach(json_object_get(style, "layers"), i, l)
    {
        const char *sl = json_string_value(json_object_get(l, "source-layer"));
        if (sl == NULL) {
            continue; /* background */
        }
        json_t *fields = NULL;
        for (size_t k = 0; k < json_array_size(vl); k++) {
            json_t *v = json_array_get(vl, k);
            if (strcmp(json_string_value(json_object_get(v, "id")), sl) == 0) {
                fields = json_object_get(v, "fields");
            }
        }
        if (fields == NULL) {
            fail_msg("style layer uses source-layer '%s', which tiles.json does not list", sl);
        }
        check_gets(l, fields, json_string_value(json_object_get(l, "id")));
        used++;
    }
    assert_true(used >= 9);
    json_decref(tj);
    json_decref(style);
    expect_error("GET", "/styles/nope.json", 404, "no style 'nope'");
    expect_error("GET", "/styles/../CMakeLists.txt", 404, "styles are");
    expect_error("GET", "/styles/Zone.json", 404, "styles are");
    expect_error("GET", "/styles/zone.json.bak", 404, "styles are");
}

/* crossriver seed: an MBTiles file GDAL reads, whose tiles are the server's gzip bytes. */
static void test_seed_matches_the_server(void **state)
{
    (void)state;
    char cmd[1024], mb[128];
    snprintf(mb, sizeof mb, "%s/zone.mbtiles", g_dir);
    snprintf(cmd, sizeof cmd,
             "\"$CROSSRIVER_BIN\" seed --quiet --store %s/s.sqlite --zoom 9-10"
             " --bbox 120.6,30.9,121.0,31.2 --out %s",
             g_dir, mb);
    sh("%s", cmd);
    char partial[160];
    snprintf(partial, sizeof partial, "%s.partial", mb);
    assert_int_equal(access(partial, F_OK), -1); /* renamed into place */
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(mb, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT tile_data FROM tiles WHERE zoom_level = 10 AND"
                                        " tile_column = 855 AND tile_row = 1023 - 419",
                                        -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    http_reply r;
    assert_true(http_h("GET", "/tiles/10/855/419.mvt", "Accept-Encoding: gzip\r\n", &r));
    assert_int_equal(r.status, 200);
    assert_int_equal((size_t)sqlite3_column_bytes(st, 0), r.len);
    assert_memory_equal(sqlite3_column_blob(st, 0), r.body, r.len);
    free(r.body);
    sqlite3_finalize(st);
    assert_int_equal(
        sqlite3_prepare_v2(db, "SELECT value FROM metadata WHERE name = 'format'", -1, &st, NULL),
        SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "pbf");
    sqlite3_finalize(st);
    sqlite3_close(db);
    /* GDAL's MBTiles driver reads the vector tiles at z10 */
    const char *opts[] = {"ZOOM_LEVEL=10", NULL};
    GDALDatasetH ds = GDALOpenEx(mb, GDAL_OF_VECTOR, NULL, opts, NULL);
    assert_non_null(ds);
    OGRLayerH l = GDALDatasetGetLayerByName(ds, "outfalls");
    assert_non_null(l);
    assert_true(OGR_L_GetFeatureCount(l, 1) > 10);
    assert_non_null(GDALDatasetGetLayerByName(ds, "reaches"));
    GDALClose(ds);
    /* bad options: usage errors, nothing written */
    snprintf(cmd, sizeof cmd,
             "\"$CROSSRIVER_BIN\" seed --store %s/s.sqlite --zoom 9-30 --out %s/bad.mbtiles"
             " 2> /dev/null; test $? -eq 2 && test ! -e %s/bad.mbtiles",
             g_dir, g_dir, g_dir);
    assert_int_equal(system(cmd), 0);
}

/* The web map in headless Chromium: draws, searches, traces (tests/web/page_check.mjs). */
static void test_web_page_in_a_browser(void **state)
{
    (void)state;
    http_reply r;
    assert_true(http("GET", "/", &r));
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.head, "Content-Type: text/html"));
    assert_non_null(strstr(r.body, "/vendor/maplibre-gl.js"));
    free(r.body);
    expect_error("GET", "/web/../server.c", 404, "no such resource");
    expect_error("GET", "/web/app.mjs.map", 404, "no such resource");
    expect_error("GET", "/web/nope.js", 404, "no file 'nope.js'");
    expect_error("GET", "/vendor/package.json", 404, "no such resource");
    char cmd[512];
    snprintf(cmd, sizeof cmd, "node \"%s/tests/web/page_check.mjs\" http://127.0.0.1:%d %s",
             getenv("CROSSRIVER_SOURCE"), g_port, g_dir);
    assert_int_equal(system(cmd), 0);
}

/* /metrics, read by the Prometheus project's parser, agrees with what the tests did. */
static void test_metrics_parse_and_add_up(void **state)
{
    (void)state;
    http_reply r;
    assert_true(http("GET", "/metrics", &r));
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.head, "Content-Type: text/plain; version=0.0.4"));
    char path[128], cmd[512];
    save_body(&r, "metrics.txt", path, sizeof path);
    /* the tile test made 8 tile requests (2 revalidated), the error test 15 bad traces */
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 \"%s/tests/server/metrics_check.py\" %s 8 2 14",
             getenv("CROSSRIVER_SOURCE"), path);
    assert_int_equal(system(cmd), 0);
}

/* The number after "name " in a /metrics text. */
static double metric(const char *name)
{
    http_reply r;
    assert_true(http("GET", "/metrics", &r));
    char key[128];
    snprintf(key, sizeof key, "\n%s ", name);
    const char *p = strstr(r.body, key);
    if (p == NULL) {
        fail_msg("no metric %s", name);
    }
    double v = atof(p + strlen(key));
    free(r.body);
    return v;
}

static int has_bytes(const http_reply *r, const char *s)
{
    size_t n = strlen(s);
    for (size_t i = 0; i + n <= r->len; i++) {
        if (memcmp(r->body + i, s, n) == 0) {
            return 1;
        }
    }
    return 0;
}

/* Which log lines mention all of a, b (and c when not NULL)? */
static int log_lines(const char *a, const char *b, const char *c)
{
    char path[128];
    snprintf(path, sizeof path, "%s/server.log", g_dir);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char line[2048];
    int n = 0;
    while (fgets(line, sizeof line, f)) {
        n += strstr(line, a) && strstr(line, b) && (c == NULL || strstr(line, c));
    }
    fclose(f);
    return n;
}

/* Restricted fields only with a token that opens them, in its jurisdictions; bad tokens get a
 * 401 with WWW-Authenticate; each restricted answer or refusal is in the log. */
static void test_tokens_open_restricted_data(void **state)
{
    (void)state;
    const char *feature = "/api/features/outfalls/WJ-TPH-0013"; /* Wujiang, has a phone */
    http_reply r;
    assert_true(http_h("GET", feature, "Authorization: Bearer tok-all\r\n", &r));
    assert_int_equal(r.status, 200);
    json_t *j = json_loads(r.body, 0, NULL);
    assert_non_null(j);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(j, "properties"), "contact_phone")),
        "13393275226");
    json_decref(j);
    free(r.body);
    /* Qingpu's token opens outfalls in Qingpu only */
    assert_true(http_h("GET", feature, "Authorization: Bearer tok-qp\r\n", &r));
    assert_int_equal(r.status, 200);
    j = json_loads(r.body, 0, NULL);
    assert_null(json_object_get(json_object_get(j, "properties"), "contact_phone"));
    assert_non_null(json_object_get(json_object_get(j, "properties"), "name"));
    json_decref(j);
    free(r.body);
    static const char *const refused[] = {
        "Authorization: Bearer tok-nope\r\n", "Authorization: Bearer tok-old\r\n", /* expired */
        "Authorization: Basic dG9rLWFsbA==\r\n", "Authorization: Bearer\r\n"};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        assert_true(http_h("GET", feature, refused[i], &r));
        assert_int_equal(r.status, 401);
        assert_non_null(strstr(r.head, "WWW-Authenticate: Bearer"));
        assert_non_null(strstr(r.body, "\"error\""));
        free(r.body);
    }
    /* the trace's notification list: phones only for Qingpu's contacts */
    const char *trace = "/api/trace?at=120.7519,30.9973&direction=down&max_km=40";
    assert_true(http_h("GET", trace, "Authorization: Bearer tok-qp\r\n", &r));
    assert_int_equal(r.status, 200);
    j = json_loads(r.body, 0, NULL);
    size_t i, k, opened = 0, closed = 0;
    json_t *jur, *c;
    json_array_foreach(json_object_get(j, "jurisdictions"), i, jur)
    {
        int qp = strcmp(json_string_value(json_object_get(jur, "code")), "310118") == 0;
        json_array_foreach(json_object_get(jur, "contacts"), k, c)
        {
            assert_int_equal(json_object_get(c, "phone") != NULL, qp);
            opened += qp;
            closed += !qp;
        }
    }
    assert_true(opened >= 1 && closed >= 1);
    json_decref(j);
    free(r.body);
    /* tiles: the phone only in the authorised tile, which is private to that client */
    const char *tile = "/tiles/12/3421/1676.mvt?layers=outfalls";
    assert_true(http_h("GET", tile, "Authorization: Bearer tok-all\r\n", &r));
    assert_int_equal(r.status, 200);
    assert_true(has_bytes(&r, "contact_phone"));
    assert_non_null(strstr(r.head, "Cache-Control: private, no-cache"));
    free(r.body);
    assert_true(http("GET", tile, &r));
    assert_int_equal(r.status, 200);
    assert_true(r.len > 100);
    assert_false(has_bytes(&r, "contact_phone"));
    free(r.body);
    assert_int_equal(log_lines(" restricted served token=all ", feature, NULL), 1);
    assert_int_equal(log_lines(" restricted served token=all ", "/tiles/12/3421/1676.mvt", NULL),
                     1);
    assert_int_equal(log_lines(" restricted served token=qp ", "/api/trace", NULL), 1);
    assert_int_equal(log_lines(" restricted refused token=- ", feature, "status=401"), 4);
    assert_int_equal(log_lines(" restricted ", "token=qp", feature), 0); /* nothing restricted */
    assert_int_equal(metric("crossriver_auth_failures_total"), 4);
}

/* The z/x/y tile holding lon/lat. */
static void tile_of(double lon, double lat, int z, int *x, int *y)
{
    double n = ldexp(1.0, z);
    *x = (int)floor((lon + 180.0) / 360.0 * n);
    *y = (int)floor((1.0 - asinh(tan(lat * M_PI / 180.0)) / M_PI) / 2.0 * n);
}

typedef struct {
    char etag[96];
    int hit;
    int has_new;
} tile_seen;

static tile_seen get_tile(int z, int x, int y)
{
    char target[96];
    snprintf(target, sizeof target, "/tiles/%d/%d/%d.mvt", z, x, y);
    http_reply r;
    assert_true(http("GET", target, &r));
    assert_int_equal(r.status, 200);
    tile_seen t = {{0}, 0, 0};
    assert_non_null(header(&r, "ETag: ", t.etag, sizeof t.etag));
    char xc[16];
    assert_non_null(header(&r, "X-Cache: ", xc, sizeof xc));
    t.hit = strcmp(xc, "HIT") == 0;
    t.has_new = has_bytes(&r, "SHL-TEST-0001");
    free(r.body);
    return t;
}

/* Tiles come from the cache the second time; an import drops exactly the tiles it touched: the
 * tile holding the new report and its child are rendered anew (and show it), the tile next
 * door and one further off stay cached with the same ETag. */
static void test_cache_hits_and_precise_invalidation(void **state)
{
    (void)state;
    /* the new report sits in the middle of A (z12), so the buffer of no neighbour reaches it */
    const double lon = 120.7177734375, lat = 31.01527898171125;
    int ax, ay, cx, cy;
    tile_of(lon, lat, 12, &ax, &ay);
    tile_of(lon, lat, 14, &cx, &cy);
    const int tiles[4][3] = {{12, ax, ay}, {14, cx, cy}, {12, ax + 1, ay}, {12, ax + 2, ay - 1}};
    tile_seen before[4];
    double hits0 = metric("crossriver_tile_cache_hits_total");
    for (int i = 0; i < 4; i++) {
        get_tile(tiles[i][0], tiles[i][1], tiles[i][2]);
        before[i] = get_tile(tiles[i][0], tiles[i][1], tiles[i][2]);
        assert_true(before[i].hit);
        assert_false(before[i].has_new);
    }
    assert_true(metric("crossriver_tile_cache_hits_total") >= hits0 + 4);
    double invalidated0 = metric("crossriver_tile_cache_invalidated_total");
    http_reply r;
    json_t *h = http_json("/health", 200, &r);
    json_int_t gen0 = json_integer_value(json_object_get(h, "data_generation"));
    json_decref(h);
    free(r.body);

    char path[128];
    snprintf(path, sizeof path, "%s/new_report.geojson", g_dir);
    FILE *f = fopen(path, "w");
    fprintf(f,
            "{\"type\":\"FeatureCollection\",\"features\":[{\"type\":\"Feature\",\"properties\":"
            "{\"上报编号\":\"SHL-TEST-0001\",\"上报时间\":\"2025-11-20 09:00\",\"面积\":30.0,"
            "\"密度\":\"零星\",\"处置状态\":\"已上报\",\"上报人\":\"巡河员张\",\"所在河流\":"
            "\"太浦河\",\"所属区县\":\"吴江区\"},\"geometry\":{\"type\":\"Point\","
            "\"coordinates\":[%.10f,%.10f]}}]}",
            lon, lat);
    fclose(f);
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "\"$CROSSRIVER_BIN\" ingest --quiet --store %s/s.sqlite --layer hyacinth_reports %s",
             g_dir, path);
    sh("%s", cmd);
    /* the server polls every 100 ms: wait until its cache has caught up with the store */
    json_int_t gen = 0, cache_gen = -1;
    for (int i = 0; i < 200 && (gen <= gen0 || cache_gen != gen); i++) {
        sleep_ms(50);
        h = http_json("/health", 200, &r);
        gen = json_integer_value(json_object_get(h, "data_generation"));
        cache_gen = json_integer_value(json_object_get(h, "cache_generation"));
        json_decref(h);
        free(r.body);
    }
    assert_true(gen > gen0);
    assert_int_equal(cache_gen, gen);
    double dropped = metric("crossriver_tile_cache_invalidated_total") - invalidated0;
    assert_true(dropped >= 2);
    for (int i = 0; i < 4; i++) {
        tile_seen t = get_tile(tiles[i][0], tiles[i][1], tiles[i][2]);
        int touched = i < 2;
        assert_int_equal(t.hit, !touched);
        assert_int_equal(t.has_new, touched);
        assert_int_equal(strcmp(t.etag, before[i].etag) != 0, touched);
    }
    assert_int_equal(log_lines("data generation", "cached tiles dropped", NULL) >= 1, 1);
}

static volatile int g_load_stop;

static void *load(void *arg)
{
    (void)arg;
    long bad = 0, n = 0;
    while (!g_load_stop) {
        http_reply r;
        const char *t = n % 2 ? "/tiles/11/1710/838.mvt" : "/api/search?q=%E5%85%83%E8%8D%A1";
        if (!http("GET", t, &r)) {
            bad++;
        } else {
            bad += r.status != 200;
            free(r.body);
        }
        n++;
    }
    return (void *)bad;
}

static json_int_t health_int(const char *key)
{
    http_reply r;
    json_t *h = http_json("/health", 200, &r);
    json_int_t v = json_integer_value(json_object_get(h, key));
    json_decref(h);
    free(r.body);
    return v;
}

static int wait_health(const char *key, json_int_t want)
{
    for (int i = 0; i < 400; i++) {
        if (health_int(key) == want) {
            return 1;
        }
        sleep_ms(50);
    }
    return 0;
}

/* SIGHUP: a new token works without a restart while clients keep getting answers; a broken
 * token file is refused and the previous tokens stay in force. */
static void test_sighup_reloads_tokens_under_load(void **state)
{
    (void)state;
    char hash[65], entry[256];
    cr_sha256_hex("tok-new", 7, hash);
    snprintf(entry, sizeof entry,
             "{\"name\": \"new\", \"token_sha256\": \"%s\", \"layers\": [\"outfalls\"],"
             " \"jurisdictions\": \"*\"}",
             hash);
    const char *feature = "/api/features/outfalls/WJ-TPH-0013";
    http_reply r;
    assert_true(http_h("GET", feature, "Authorization: Bearer tok-new\r\n", &r));
    assert_int_equal(r.status, 401);
    free(r.body);
    g_load_stop = 0;
    pthread_t t[3];
    for (int i = 0; i < 3; i++) {
        assert_int_equal(pthread_create(&t[i], NULL, load, NULL), 0);
    }
    json_int_t id0 = health_int("config_id");
    write_tokens(entry);
    assert_int_equal(kill(g_pid, SIGHUP), 0);
    assert_true(wait_health("config_id", id0 + 1));
    assert_true(http_h("GET", feature, "Authorization: Bearer tok-new\r\n", &r));
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "13393275226"));
    free(r.body);
    /* a broken file: refused, the tokens loaded before still work */
    char path[128];
    snprintf(path, sizeof path, "%s/tokens.json", g_dir);
    FILE *f = fopen(path, "w");
    fputs("{\"tokens\": [{\"name\": \"x\"}]}", f);
    fclose(f);
    double failures0 = metric("crossriver_reload_failures_total");
    assert_int_equal(kill(g_pid, SIGHUP), 0);
    for (int i = 0; i < 200 && metric("crossriver_reload_failures_total") == failures0; i++) {
        sleep_ms(50);
    }
    assert_int_equal(metric("crossriver_reload_failures_total"), failures0 + 1);
    assert_int_equal(health_int("config_id"), id0 + 1);
    assert_true(http_h("GET", feature, "Authorization: Bearer tok-new\r\n", &r));
    assert_int_equal(r.status, 200);
    free(r.body);
    write_tokens(entry);
    sleep_ms(300);
    g_load_stop = 1;
    long bad = 0;
    for (int i = 0; i < 3; i++) {
        void *v;
        pthread_join(t[i], &v);
        bad += (long)v;
    }
    assert_int_equal(bad, 0); /* no request dropped or failed across the reloads */
    assert_true(log_lines("reload refused", "token_sha256", NULL) >= 1 ||
                log_lines("reload refused", "tokens[0]", NULL) >= 1);
}

/* `crossriver network` on the served store: the server loads the new network by itself
 * (while answering), and traces keep working. */
static void test_network_rebuild_is_picked_up(void **state)
{
    (void)state;
    json_int_t net0 = health_int("network_generation");
    json_int_t reaches = health_int("reaches");
    g_load_stop = 0;
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, load, NULL), 0);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "\"$CROSSRIVER_BIN\" network --store %s/s.sqlite > /dev/null", g_dir);
    sh("%s", cmd);
    sqlite3 *db;
    char path[128];
    snprintf(path, sizeof path, "%s/s.sqlite", g_dir);
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT CAST(value AS INTEGER) FROM meta"
                                        " WHERE key='network_generation'",
                                        -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    json_int_t net1 = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    assert_true(net1 > net0);
    assert_true(wait_health("network_generation", net1));
    assert_int_equal(health_int("reaches"), reaches);
    g_load_stop = 1;
    void *v;
    pthread_join(t, &v);
    assert_int_equal((long)v, 0);
    http_reply r;
    json_t *j = http_json("/api/trace?reach=DCH-01&direction=down", 200, &r);
    assert_true(json_array_size(json_object_get(j, "reaches")) > 1);
    json_decref(j);
    free(r.body);
}

/* GET /api/patrol over the samples: 一河三湖 as of a date, legs per jurisdiction (Wujiang first:
 * the Taipu River leaves Taihu there), contiguous and covering the route; stops ordered along
 * it, each in its leg; the liaison only with a token; GPX valid against the GPX 1.1 schema
 * (xmllint) and read by GDAL (one waypoint per stop, one route point per vertex); KML read by
 * GDAL; the checklist CSV with a BOM and a row per stop; the same plan as `crossriver patrol`;
 * errors. */
static void test_patrol_over_the_samples(void **state)
{
    (void)state;
    const char *q = "/api/patrol?preset=yihe-sanhu&date=2025-10-31";
    http_reply r;
    json_t *plan = http_json(q, 200, &r);
    free(r.body);
    json_t *legs = json_object_get(plan, "legs"), *stops = json_object_get(plan, "stops");
    double length = json_real_value(json_object_get(plan, "length_km"));
    assert_true(length > 50);
    assert_int_equal(json_integer_value(json_object_get(plan, "unreachable_reaches")), 0);
    assert_true(json_array_size(legs) >= 3);
    assert_string_equal(json_string_value(json_object_get(json_array_get(legs, 0), "county_code")),
                        "320509");
    int seen_wj = 0, seen_js = 0, seen_qp = 0;
    double at = 0;
    size_t i;
    json_t *leg;
    json_array_foreach(legs, i, leg)
    {
        const char *code = json_string_value(json_object_get(leg, "county_code"));
        seen_wj |= strcmp(code, "320509") == 0;
        seen_js |= strcmp(code, "330421") == 0;
        seen_qp |= strcmp(code, "310118") == 0;
        assert_true(fabs(json_real_value(json_object_get(leg, "from_km")) - at) < 0.002);
        at = json_real_value(json_object_get(leg, "to_km"));
        if (i > 0) { /* a new leg is a new jurisdiction */
            assert_string_not_equal(code, json_string_value(json_object_get(
                                              json_array_get(legs, i - 1), "county_code")));
        }
        assert_non_null(strstr(json_string_value(json_object_get(leg, "lead_agency")), "河长"));
        assert_null(json_object_get(leg, "liaison")); /* restricted: no token */
    }
    assert_true(seen_wj && seen_js && seen_qp);
    assert_true(fabs(at - length) < 0.002);
    assert_true(json_array_size(stops) >= 10);
    double prev = -1;
    int kinds = 0;
    json_t *s;
    json_array_foreach(stops, i, s)
    {
        double km = json_real_value(json_object_get(s, "km"));
        assert_true(km >= prev);
        prev = km;
        json_t *l = json_array_get(legs, (size_t)json_integer_value(json_object_get(s, "leg")) - 1);
        assert_true(km >= json_real_value(json_object_get(l, "from_km")) - 0.002 &&
                    km <= json_real_value(json_object_get(l, "to_km")) + 0.002);
        const char *issue = json_string_value(json_object_get(s, "issue"));
        kinds |= (strcmp(issue, "hyacinth_open") == 0) | (strncmp(issue, "outfall_", 8) == 0) << 1 |
                 (strcmp(issue, "cross_boundary_section") == 0) << 2;
    }
    assert_int_equal(kinds, 7);
    /* the command line plans the same */
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "\"$CROSSRIVER_BIN\" patrol --preset yihe-sanhu --date 2025-10-31 --store %s/s.sqlite"
             " --out %s/patrol.json",
             g_dir, g_dir);
    sh("%s", cmd);
    char path[128];
    snprintf(path, sizeof path, "%s/patrol.json", g_dir);
    json_t *cli = json_load_file(path, 0, NULL);
    assert_non_null(cli);
    assert_int_equal(json_array_size(json_object_get(cli, "stops")), json_array_size(stops));
    assert_true(fabs(json_real_value(json_object_get(cli, "length_km")) - length) < 1e-9);
    /* personal data (the liaison's name and mobile) only when asked, and then audited */
    assert_null(json_object_get(json_array_get(json_object_get(cli, "legs"), 0), "liaison"));
    assert_non_null(json_object_get(json_array_get(json_object_get(cli, "legs"), 0), "duty_phone"));
    json_decref(cli);
    snprintf(cmd, sizeof cmd,
             "\"$CROSSRIVER_BIN\" patrol --preset yihe-sanhu --date 2025-10-31 --store %s/s.sqlite"
             " --include-personal --out %s/patrol.json",
             g_dir, g_dir);
    sh("%s", cmd);
    cli = json_load_file(path, 0, NULL);
    assert_non_null(json_object_get(json_array_get(json_object_get(cli, "legs"), 0), "liaison"));
    json_decref(cli);
    char audit[512];
    snprintf(audit, sizeof audit,
             "sqlite3 %s/s.sqlite \"SELECT count(*) FROM audit_log WHERE action = 'patrol plan"
             " with personal data' AND detail = '%s/patrol.json'\" | grep -qx 1",
             g_dir, g_dir);
    assert_int_equal(system(audit), 0);
    /* a token opens the liaison of its jurisdictions only */
    char target[256];
    assert_true(http_h("GET", q, "Authorization: Bearer tok-qp\r\n", &r));
    json_t *with = json_loads(r.body, 0, NULL);
    free(r.body);
    json_array_foreach(json_object_get(with, "legs"), i, leg)
    {
        int qp = strcmp(json_string_value(json_object_get(leg, "county_code")), "310118") == 0;
        assert_int_equal(json_object_get(leg, "liaison") != NULL, qp);
    }
    json_decref(with);
    /* … and serving it is recorded in the audit log under the token's name */
    snprintf(audit, sizeof audit,
             "sqlite3 %s/s.sqlite \"SELECT count(*) FROM audit_log WHERE action = 'patrol plan"
             " with personal data' AND who = 'qp'\" | grep -qx 1",
             g_dir);
    assert_int_equal(system(audit), 0);
    /* GPX: the schema and GDAL */
    snprintf(target, sizeof target, "%s&format=gpx", q);
    assert_true(http("GET", target, &r));
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.head, "application/gpx+xml"));
    char gpx[128];
    save_body(&r, "patrol.gpx", gpx, sizeof gpx);
    snprintf(cmd, sizeof cmd, "xmllint --noout --schema \"%s/tests/patrol/gpx-1.1.xsd\" %s",
             getenv("CROSSRIVER_SOURCE"), gpx);
    sh("%s", cmd);
    GDALDatasetH ds = GDALOpenEx(gpx, GDAL_OF_VECTOR, NULL, NULL, NULL);
    assert_non_null(ds);
    assert_int_equal(OGR_L_GetFeatureCount(GDALDatasetGetLayerByName(ds, "waypoints"), 1),
                     (GIntBig)json_array_size(stops));
    assert_int_equal(
        OGR_L_GetFeatureCount(GDALDatasetGetLayerByName(ds, "route_points"), 1),
        (GIntBig)json_array_size(json_object_get(json_object_get(plan, "route"), "coordinates")));
    GDALClose(ds);
    /* the schema is not a rubber stamp: waypoints after the route are refused */
    snprintf(path, sizeof path, "%s/bad.gpx", g_dir);
    FILE *f = fopen(path, "w");
    fputs("<?xml version=\"1.0\"?><gpx version=\"1.1\" creator=\"t\" "
          "xmlns=\"http://www.topografix.com/GPX/1/1\"><rte/><wpt lat=\"31\" lon=\"120\"/></gpx>",
          f);
    fclose(f);
    snprintf(cmd, sizeof cmd,
             "xmllint --noout --schema \"%s/tests/patrol/gpx-1.1.xsd\" %s 2>/dev/null",
             getenv("CROSSRIVER_SOURCE"), path);
    assert_int_not_equal(system(cmd), 0);
    /* KML read by GDAL; the checklist */
    snprintf(target, sizeof target, "%s&format=kml", q);
    assert_true(http("GET", target, &r));
    char kml[128];
    save_body(&r, "patrol.kml", kml, sizeof kml);
    ds = GDALOpenEx(kml, GDAL_OF_VECTOR, NULL, NULL, NULL);
    assert_non_null(ds);
    GIntBig kml_features = 0;
    for (int k = 0; k < GDALDatasetGetLayerCount(ds); k++) {
        kml_features += OGR_L_GetFeatureCount(GDALDatasetGetLayer(ds, k), 1);
    }
    assert_int_equal(kml_features, (GIntBig)json_array_size(stops) + 1);
    GDALClose(ds);
    snprintf(target, sizeof target, "%s&format=csv&mode=foot", q);
    assert_true(http("GET", target, &r));
    assert_int_equal(r.status, 200);
    assert_memory_equal(r.body, "\xEF\xBB\xBF", 3);
    size_t lines = 0;
    for (size_t k = 0; k < r.len; k++) {
        lines += r.body[k] == '\n';
    }
    assert_int_equal(lines, json_array_size(stops) + 1);
    assert_non_null(strstr(r.body, "检查结果 findings"));
    free(r.body);
    snprintf(target, sizeof target, "%s&format=html", q);
    assert_true(http("GET", target, &r));
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "<table>"));
    free(r.body);
    json_decref(plan);
    expect_error("GET", "/api/patrol?date=2025-10-31", 400, "rivers");
    expect_error("GET", "/api/patrol?river=%E5%A4%AA%E6%B5%A6%E6%B2%B3&date=2025-13-01", 400,
                 "date");
    expect_error("GET", "/api/patrol?river=%E5%A4%AA%E6%B5%A6%E6%B2%B3&format=shp", 400, "format");
    expect_error("GET", "/api/patrol?river=nowhere", 404, "no reach");
    expect_error("GET", "/api/patrol?preset=yihe-sanhu&from=1,2,3", 400, "from");
}

/* POST /api/export/evidence: for a full token, the zip `crossriver export evidence` makes for
 * the same case (byte for byte), its SHA-256 as the ETag, audited under the token's name;
 * refused without a token (401), with a partial one (403), for a bad body (400), an oversized
 * one (413), and as GET (405, Allow: POST). */
/* A POST from a thread of its own (no cmocka asserts here): status and the body's SHA-256. */
typedef struct {
    const char *body;
    int status;
    char sha[65];
} export_call;

static void *post_export(void *arg)
{
    export_call *c = arg;
    c->status = -1;
    int fd = connect_server();
    if (fd < 0) {
        return NULL;
    }
    char head[512];
    int n = snprintf(head, sizeof head,
                     "POST /api/export/evidence HTTP/1.0\r\nHost: 127.0.0.1\r\nAuthorization: "
                     "Bearer tok-all\r\nContent-Length: %zu\r\n\r\n",
                     strlen(c->body));
    if (send(fd, head, (size_t)n, MSG_NOSIGNAL) != n ||
        send(fd, c->body, strlen(c->body), MSG_NOSIGNAL) != (ssize_t)strlen(c->body)) {
        close(fd);
        return NULL;
    }
    size_t cap = 1 << 20, len = 0;
    char *buf = malloc(cap);
    ssize_t got;
    while ((got = read(fd, buf + len, cap - len - 1)) > 0) {
        len += (size_t)got;
        if (len + 1 == cap) {
            cap *= 2;
            buf = realloc(buf, cap);
        }
    }
    close(fd);
    buf[len] = '\0'; /* the head has no NUL: the search stops at its end */
    char *sep = strstr(buf, "\r\n\r\n");
    if (sep && sscanf(buf, "HTTP/1.%*d %d", &c->status) == 1) {
        cr_sha256_hex(sep + 4, len - (size_t)(sep + 4 - buf), c->sha);
    }
    free(buf);
    return NULL;
}

/* Eight different exports at once: GDAL's /vsimem/ names are process-wide, so each export must
 * use names of its own; every answer is the package the same case gives alone. */
static void concurrent_exports_agree(void)
{
    export_call calls[8];
    char bodies[8][256];
    char want[8][65];
    pthread_t th[8];
    for (int i = 0; i < 8; i++) {
        snprintf(bodies[i], sizeof bodies[i],
                 "{\"case\": {\"trace\": {\"at\": [120.7519, 30.9973], \"direction\": "
                 "\"down\", \"max_km\": %d}}, \"as_of\": \"2025-11-01T00:00:00Z\"}",
                 4 + 2 * i);
        calls[i].body = bodies[i];
        post_export(&calls[i]); /* alone first */
        assert_int_equal(calls[i].status, 200);
        snprintf(want[i], sizeof want[i], "%s", calls[i].sha);
    }
    for (int i = 0; i < 8; i++) {
        assert_int_equal(pthread_create(&th[i], NULL, post_export, &calls[i]), 0);
    }
    for (int i = 0; i < 8; i++) {
        pthread_join(th[i], NULL);
    }
    for (int i = 0; i < 8; i++) {
        assert_int_equal(calls[i].status, 200);
        assert_string_equal(calls[i].sha, want[i]);
    }
}

static void test_evidence_over_http(void **state)
{
    (void)state;
    const char *body = "{\"case\": {\"trace\": {\"at\": [120.7519, 30.9973], \"direction\": "
                       "\"down\", \"max_km\": 20}}, \"as_of\": \"2025-11-01T00:00:00Z\", "
                       "\"issuer\": \"吴江区生态环境局\"}";
    http_reply r;
    assert_true(
        http_hb("POST", "/api/export/evidence", "Authorization: Bearer tok-all\r\n", body, &r));
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.head, "Content-Type: application/zip"));
    char hex[65], etag[100], want[80];
    cr_sha256_hex(r.body, r.len, hex);
    snprintf(want, sizeof want, "\"%s\"", hex);
    assert_non_null(header(&r, "ETag: ", etag, sizeof etag));
    assert_string_equal(etag, want);
    char path[128], cmd[768];
    save_body(&r, "post.zip", path, sizeof path);
    concurrent_exports_agree();
    snprintf(cmd, sizeof cmd,
             "\"$CROSSRIVER_BIN\" export evidence --quiet --store %s/s.sqlite --out %s/cli.zip"
             " --as-of 2025-11-01T00:00:00Z --issuer 吴江区生态环境局 --at 120.7519,30.9973"
             " --direction down --max-km 20 && cmp -s %s %s/cli.zip && \"$CROSSRIVER_BIN\" export"
             " verify %s > /dev/null",
             g_dir, g_dir, path, g_dir, path);
    sh("%s", cmd);
    sqlite3 *db;
    char store[128];
    snprintf(store, sizeof store, "%s/s.sqlite", g_dir);
    assert_int_equal(sqlite3_open_v2(store, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT count(*) FROM evidence_exports WHERE exported_by ="
                                        " 'all' AND package_sha256 = ?",
                                        -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_text(st, 1, hex, -1, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), 1); /* one audit row per export */
    sqlite3_finalize(st);
    sqlite3_close(db);
    assert_true(http_hb("POST", "/api/export/evidence", "", body, &r));
    assert_int_equal(r.status, 401);
    free(r.body);
    assert_true(
        http_hb("POST", "/api/export/evidence", "Authorization: Bearer tok-qp\r\n", body, &r));
    assert_int_equal(r.status, 403);
    free(r.body);
    assert_true(
        http_hb("POST", "/api/export/evidence", "Authorization: Bearer tok-all\r\n", "{}", &r));
    assert_int_equal(r.status, 400);
    free(r.body);
    char *big = malloc((1 << 20) + 2);
    memset(big, ' ', (1 << 20) + 1);
    big[(1 << 20) + 1] = '\0';
    assert_true(
        http_hb("POST", "/api/export/evidence", "Authorization: Bearer tok-all\r\n", big, &r));
    assert_int_equal(r.status, 413);
    free(r.body);
    free(big);
    assert_true(http("GET", "/api/export/evidence", &r));
    assert_int_equal(r.status, 405);
    assert_non_null(strstr(r.head, "Allow: POST"));
    free(r.body);
}

/* Last: SIGTERM stops the server cleanly (exit 0) and the log has one line per request. */
static void test_sigterm_stops_cleanly(void **state)
{
    (void)state;
    assert_int_equal(kill(g_pid, SIGTERM), 0);
    int st = 0;
    pid_t got = 0;
    for (int i = 0; i < 400 && got == 0; i++) {
        got = waitpid(g_pid, &st, WNOHANG);
        sleep_ms(50);
    }
    if (got == 0) {
        kill(g_pid, SIGKILL);
        waitpid(g_pid, &st, 0);
        fail_msg("server ignored SIGTERM");
    }
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    char path[128];
    snprintf(path, sizeof path, "%s/server.log", g_dir);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char line[1024];
    int access_lines = 0, post405 = 0;
    while (fgets(line, sizeof line, f)) {
        access_lines += strstr(line, " access ") != NULL;
        post405 += strstr(line, " access POST /api/trace 405 ") != NULL;
    }
    fclose(f);
    assert_true(access_lines >= CLIENTS * ROUNDS + 20);
    assert_int_equal(post405, 1);
}

/* Every route of the route table has a section in docs/http-api.md (tippecanoe's man-page
 * check): a "## " heading naming its method and path (a prefix route with what follows). */
/* Water quality over HTTP: a section's readings (raw, by day, as CSV), every section's class,
 * the alarms with the 2025-08-12 ammonia spike at 康家村 traced to the named outfall, and the
 * review of an alarm only with a token, recorded in the audit log. */
static void test_water_quality_over_http(void **state)
{
    (void)state;
    http_reply r;
    json_t *j = http_json("/api/sections/SEC-TPH-KJ/readings?indicator=nh3n&from=2025-08-12"
                          "&to=2025-08-12&step=raw",
                          200, &r);
    free(r.body);
    json_t *ser = json_object_get(j, "series");
    double peak = 0;
    size_t i, k;
    json_t *x, *pt;
    json_array_foreach(ser, i, x)
    {
        json_array_foreach(json_object_get(x, "points"), k, pt)
        {
            peak = fmax(peak, json_number_value(json_array_get(pt, 1)));
        }
    }
    assert_true(peak > 2.0); /* the spike, as generated */
    json_decref(j);
    /* daily means against the raw values of one day, averaged here */
    j = http_json("/api/sections/SEC-TPH-KJ/readings?indicator=nh3n&from=2025-03-03&to=2025-03-03"
                  "&step=raw",
                  200, &r);
    free(r.body);
    double sum = 0;
    int n = 0;
    json_array_foreach(json_object_get(j, "series"), i, x)
    {
        if (strcmp(json_string_value(json_object_get(x, "method")), "automatic") != 0) {
            continue;
        }
        json_array_foreach(json_object_get(x, "points"), k, pt)
        {
            sum += json_number_value(json_array_get(pt, 1));
            n++;
        }
    }
    json_decref(j);
    assert_int_equal(n, 6);
    j = http_json("/api/sections/SEC-TPH-KJ/readings?indicator=nh3n&from=2025-03-03&to=2025-03-03"
                  "&step=day",
                  200, &r);
    free(r.body);
    int found = 0;
    json_array_foreach(json_object_get(j, "series"), i, x)
    {
        if (strcmp(json_string_value(json_object_get(x, "method")), "automatic") == 0) {
            pt = json_array_get(json_object_get(x, "points"), 0);
            assert_true(fabs(json_number_value(json_array_get(pt, 1)) - sum / n) < 1e-9);
            assert_int_equal(json_integer_value(json_array_get(pt, 2)), 6);
            found = 1;
        }
    }
    assert_true(found);
    json_decref(j);
    assert_true(http("GET", "/api/sections/SEC-TPH-KJ/readings?step=month&format=csv", &r));
    assert_int_equal(r.status, 200);
    assert_memory_equal(r.body, "\xEF\xBB\xBF\"section_id\"", 15);
    free(r.body);
    expect_error("GET", "/api/sections/SEC-TPH-KJ/readings?step=week", 400, "step");
    expect_error("GET", "/api/sections/NOPE/readings", 404, "NOPE");
    /* every section's class in a period */
    j = http_json("/api/quality?period=2025-07", 200, &r);
    free(r.body);
    assert_int_equal(json_array_size(json_object_get(j, "sections")), 12);
    json_decref(j);
    expect_error("GET", "/api/quality?period=July", 400, "period");
    expect_error("GET", "/api/quality?period=2025-07&step=month", 400, "step=month");
    /* the year month by month (the lean table) agrees with each month's full answer */
    j = http_json("/api/quality?period=2025&step=month", 200, &r);
    free(r.body);
    json_t *aug = http_json("/api/quality?period=2025-08", 200, &r);
    free(r.body);
    assert_int_equal(json_array_size(json_object_get(j, "sections")), 12);
    json_array_foreach(json_object_get(aug, "sections"), i, x)
    {
        json_t *row = NULL;
        json_array_foreach(json_object_get(j, "sections"), k, pt)
        {
            if (strcmp(json_string_value(json_object_get(pt, "section_id")),
                       json_string_value(json_object_get(x, "section_id"))) == 0) {
                row = pt;
            }
        }
        assert_non_null(row);
        json_t *m8 = json_array_get(json_object_get(row, "months"), 7);
        assert_string_equal(json_string_value(json_object_get(m8, "month")), "2025-08");
        assert_true(json_equal(json_object_get(m8, "class"), json_object_get(x, "class")));
        assert_true(json_equal(json_object_get(m8, "met"), json_object_get(x, "met")));
    }
    json_decref(aug);
    json_decref(j);
    /* detail=0: the latest class, target and met only, as the full answer has them */
    j = http_json("/api/quality?detail=0", 200, &r);
    free(r.body);
    json_t *full = http_json("/api/quality", 200, &r);
    free(r.body);
    assert_int_equal(json_array_size(json_object_get(j, "sections")),
                     json_array_size(json_object_get(full, "sections")));
    json_array_foreach(json_object_get(j, "sections"), i, x)
    {
        json_t *y = json_array_get(json_object_get(full, "sections"), i);
        assert_true(json_equal(json_object_get(x, "class"), json_object_get(y, "class")));
        assert_true(json_equal(json_object_get(x, "met"), json_object_get(y, "met")));
    }
    json_decref(full);
    json_decref(j);
    /* the alarms: the spike at 康家村, its upstream candidates led by the named outfall */
    j = http_json("/api/alarms?section=SEC-TPH-KJ&detail=1", 200, &r);
    free(r.body);
    int64_t spike = 0;
    json_array_foreach(json_object_get(j, "alarms"), i, x)
    {
        if (strcmp(json_string_value(json_object_get(x, "rule")), "sudden_change") == 0 &&
            strcmp(json_string_value(json_object_get(x, "indicator")), "nh3n") == 0) {
            spike = json_integer_value(json_object_get(x, "alarm_id"));
            json_t *c = json_object_get(json_object_get(x, "upstream"), "candidates");
            assert_string_equal(json_string_value(json_object_get(json_array_get(c, 0), "id")),
                                "WJ-TPH-0007");
            json_t *next = json_object_get(json_object_get(x, "downstream"), "reaches_next");
            int jz = 0, intake = 0;
            json_array_foreach(next, k, pt)
            {
                jz |= strcmp(json_string_value(json_object_get(pt, "id")), "SEC-TPH-JZ") == 0;
                intake |= strcmp(json_string_value(json_object_get(pt, "id")), "SK-JZ-01") == 0 &&
                          json_is_string(json_object_get(pt, "arrival"));
            }
            assert_true(jz);     /* the next station downstream, with its arrival */
            assert_true(intake); /* the Jinze reservoir's intake, with its arrival */
            json_t *sp = json_object_get(x, "stockpiles");
            assert_string_equal(json_string_value(json_object_get(sp, "distance")),
                                "straight line");
            assert_string_equal(json_string_value(json_object_get(
                                    json_array_get(json_object_get(sp, "nearest"), 0), "id")),
                                "YJ-QP-01");
        }
    }
    json_decref(j);
    assert_true(spike > 0);
    /* review: a token is needed, the step is audited */
    char target[64];
    snprintf(target, sizeof target, "/api/alarms/%lld/review", (long long)spike);
    assert_true(http_hb("POST", target, "", "{\"to\": \"reviewed\"}", &r));
    assert_int_equal(r.status, 401);
    free(r.body);
    assert_true(
        http_hb("POST", target, "Authorization: Bearer tok-qp\r\n", "{\"to\": \"closed\"}", &r));
    assert_int_equal(r.status, 400); /* open cannot be closed */
    free(r.body);
    assert_true(http_hb("POST", target, "Authorization: Bearer tok-qp\r\n",
                        "{\"to\": \"reviewed\", \"who\": \"值班员\", \"note\": \"曲线核对\"}", &r));
    assert_int_equal(r.status, 200);
    j = json_loads(r.body, 0, NULL);
    free(r.body);
    assert_string_equal(json_string_value(json_object_get(j, "state")), "reviewed");
    json_t *h = json_array_get(json_object_get(j, "history"), 1);
    assert_string_equal(json_string_value(json_object_get(h, "who")), "qp / 值班员");
    json_decref(j);
    sqlite3 *db;
    char store[128];
    snprintf(store, sizeof store, "%s/s.sqlite", g_dir);
    assert_int_equal(sqlite3_open_v2(store, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT count(*) FROM audit_log WHERE action ="
                                        " 'alarm_review' AND who = 'qp / 值班员'",
                                        -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), 1);
    sqlite3_finalize(st);
    sqlite3_close(db);
}

/* Incidents over HTTP: the sample incident listed, its report as the command line gives it,
 * the plan as CSV and GeoJSON, the 通报 as text; an unknown one is 404. */
static void test_incidents_over_http(void **state)
{
    (void)state;
    http_reply r;
    json_t *j = http_json("/api/incidents", 200, &r);
    free(r.body);
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(j, "incidents"), 0), "incident_id")),
                        "INC-20250812-01");
    json_decref(j);
    j = http_json("/api/incidents/INC-20250812-01", 200, &r);
    free(r.body);
    char cmd[512], path[128];
    snprintf(cmd, sizeof cmd,
             "\"$CROSSRIVER_BIN\" incident show INC-20250812-01 --json --store %s/s.sqlite > "
             "%s/inc.json",
             g_dir, g_dir);
    sh("%s", cmd);
    snprintf(path, sizeof path, "%s/inc.json", g_dir);
    json_t *cli = json_load_file(path, 0, NULL);
    assert_non_null(cli);
    /* the same answer but for "now" (the deadlines' clock) */
    json_object_del(j, "now");
    json_object_del(cli, "now");
    assert_true(json_equal(json_object_get(j, "threatened"), json_object_get(cli, "threatened")));
    assert_true(
        json_equal(json_object_get(j, "notification"), json_object_get(cli, "notification")));
    json_decref(cli);
    json_decref(j);
    assert_true(http("GET", "/api/incidents/INC-20250812-01/plan?format=csv", &r));
    assert_int_equal(r.status, 200);
    assert_memory_equal(r.body, "\xEF\xBB\xBF", 3);
    assert_non_null(strstr(r.body, "SK-JZ-01"));
    free(r.body);
    j = http_json("/api/incidents/INC-20250812-01/plan?format=geojson", 200, &r);
    free(r.body);
    assert_true(json_array_size(json_object_get(j, "features")) >= 3);
    json_decref(j);
    assert_true(http("GET", "/api/incidents/INC-20250812-01/notice", &r));
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "通报"));
    free(r.body);
    expect_error("GET", "/api/incidents/NOPE", 404, "NOPE");
    expect_error("GET", "/api/incidents/INC-20250812-01/plan?format=pdf", 400, "format");
}

/* The audit rows of an action by who (the first column of a count). */
static int audited(const char *action, const char *who)
{
    sqlite3 *db;
    char store[128];
    snprintf(store, sizeof store, "%s/s.sqlite", g_dir);
    assert_int_equal(sqlite3_open_v2(store, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT count(*) FROM audit_log WHERE action = ?1 AND"
                                        " who = ?2",
                                        -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_text(st, 1, action, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, who, -1, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int n = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

static json_t *post_json(const char *target, const char *body, int want_status)
{
    http_reply r;
    assert_true(http_hb("POST", target, "Authorization: Bearer tok-qp\r\n", body, &r));
    if (r.status != want_status) {
        fail_msg("POST %s: %d, wanted %d: %s", target, r.status, want_status, r.body);
    }
    json_t *j = json_loads(r.body, 0, NULL);
    free(r.body);
    assert_non_null(j);
    return j;
}

/* Records written over HTTP: an incident (a phone's [lon, lat]) and its update and a
 * notification, a finding and its step, a gate operation and its advance notice; each needs a
 * token, is audited under its name and the person, and reads back as the command line has it. */
static void test_records_over_http(void **state)
{
    (void)state;
    http_reply r;
    const char *inc = "{\"at\": [120.8950, 31.0130], \"time\": \"2025-09-03 10:20\", \"substance\":"
                      " \"柴油\", \"amount_kg\": 800, \"reporter\": \"吴江区生态环境局 张三\","
                      " \"place\": \"太浦河芦墟段\"}";
    assert_true(http_hb("POST", "/api/incidents", "", inc, &r));
    assert_int_equal(r.status, 401);
    free(r.body);
    json_t *j = post_json("/api/incidents", inc, 200);
    assert_string_equal(json_string_value(json_object_get(j, "id")), "INC-20250903-01");
    assert_string_equal(json_string_value(json_object_get(j, "outcome")), "recorded");
    json_decref(j);
    j = post_json("/api/incidents", "{\"at\": \"120.9,31.0\", \"colour\": \"red\"}", 400);
    assert_non_null(strstr(json_string_value(json_object_get(j, "error")), "'colour'"));
    json_decref(j);
    /* swapped coordinates are refused naming them, and the attempt is kept in the rejects */
    j = post_json("/api/incidents",
                  "{\"at\": \"31.0130,120.8950\", \"time\": \"2025-09-03 11:00\", \"substance\":"
                  " \"柴油\"}",
                  400);
    assert_non_null(strstr(json_string_value(json_object_get(j, "error")), "swapped"));
    json_decref(j);
    j = post_json("/api/incidents/INC-20250903-01",
                  "{\"status\": \"contained\", \"amount_kg\": 650, \"response\": \"围油栏已布设\","
                  " \"who\": \"李四\"}",
                  200);
    assert_string_equal(json_string_value(json_object_get(j, "outcome")), "updated");
    json_decref(j);
    j = post_json("/api/incidents/INC-20250903-01/notifications",
                  "{\"to\": \"330421\", \"channel\": \"电话\", \"sent\": \"2025-09-03 10:45\","
                  " \"who\": \"王五\"}",
                  200);
    assert_string_equal(json_string_value(json_object_get(j, "level")), "county");
    json_decref(j);
    j = post_json("/api/incidents/INC-NOPE", "{\"status\": \"closed\", \"who\": \"x\"}", 404);
    json_decref(j);
    /* the report reads the new version and the notification once the server sees the data */
    usleep(300 * 1000);
    j = http_json("/api/incidents/INC-20250903-01", 200, &r);
    free(r.body);
    const json_t *rec = json_object_get(j, "incident");
    assert_string_equal(json_string_value(json_object_get(rec, "status")), "contained");
    assert_true(json_number_value(json_object_get(rec, "amount_kg")) == 650);
    assert_string_equal(json_string_value(json_object_get(rec, "county_code")), "320509");
    const json_t *sent = json_array_get(json_object_get(j, "notifications_sent"), 0);
    assert_string_equal(json_string_value(json_object_get(sent, "who")), "qp / 王五");
    json_decref(j);
    assert_int_equal(audited("incident_open", "qp / 吴江区生态环境局 张三"), 1);
    assert_int_equal(audited("incident_update", "qp / 李四"), 1);
    assert_int_equal(audited("incident_notification", "qp / 王五"), 1);

    /* a finding from the field app, then its step */
    j = post_json("/api/findings",
                  "{\"finding_id\": \"XH-2025-09-05\", \"found_at\": \"2025-09-05 09:30\","
                  " \"kind\": \"排口\", \"description\": \"岸边未登记排口\", \"lon\": 120.8795,"
                  " \"lat\": 31.0243, \"reporter\": \"巡河员戊\", \"photos\": \"IMG_0905.jpg\"}",
                  200);
    json_decref(j);
    j = post_json("/api/findings", "{\"finding_id\": \"XH-X\", \"status\": \"closed\"}", 400);
    json_decref(j);
    j = post_json("/api/findings/XH-2025-09-05/step", "{\"to\": \"closed\", \"who\": \"河长办\"}",
                  400);
    assert_non_null(strstr(json_string_value(json_object_get(j, "error")), "rectifying"));
    json_decref(j);
    j = post_json("/api/findings/XH-2025-09-05/step",
                  "{\"to\": \"rectifying\", \"who\": \"吴江区水务局\", \"note\": \"已责令封堵\","
                  " \"at\": \"2025-09-06 08:00\"}",
                  200);
    assert_string_equal(json_string_value(json_object_get(j, "status")), "rectifying");
    assert_int_equal(json_array_size(json_object_get(j, "versions")), 2);
    assert_string_equal(json_string_value(json_object_get(j, "reach_id")), "TPH-04");
    json_decref(j);
    usleep(300 * 1000);
    j = http_json("/api/findings?status=rectifying", 200, &r);
    free(r.body);
    int listed = 0;
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(j, "findings"), i, f)
    {
        listed |= strcmp(json_string_value(json_object_get(f, "finding_id")), "XH-2025-09-05") == 0;
    }
    assert_true(listed);
    json_decref(j);
    j = http_json("/api/findings/report?period=2025Q3&as_of=2025-10-15", 200, &r);
    free(r.body);
    assert_true(json_integer_value(json_object_get(json_object_get(j, "totals"), "found")) >= 7);
    json_decref(j);
    expect_error("GET", "/api/findings/report?period=2025Q5", 400, "period");
    expect_error("GET", "/api/findings?status=gone", 400, "status");
    assert_int_equal(audited("finding_step", "qp / 吴江区水务局"), 1);

    /* a gate operation, its notice, the notice sent */
    j = post_json("/api/gate-operations",
                  "{\"gate_id\": \"G-TPZ\", \"action\": \"open\", \"status\": \"planned\","
                  " \"start_at\": \"2025-09-20 08:00\", \"flow_m3s\": 400, \"authority\":"
                  " \"太湖流域管理局\", \"emergency\": true, \"who\": \"调度员\"}",
                  200);
    assert_string_equal(json_string_value(json_object_get(j, "id")), "DD-20250920-01");
    json_decref(j);
    j = post_json("/api/gate-operations/DD-20250920-01/notifications",
                  "{\"to\": \"330421\", \"channel\": \"传真\", \"sent\": \"2025-09-20 05:00\","
                  " \"who\": \"调度员\"}",
                  200);
    json_decref(j);
    usleep(300 * 1000);
    j = http_json("/api/gate-operations/DD-20250920-01", 200, &r);
    free(r.body);
    const json_t *an = json_object_get(j, "advance_notice");
    assert_string_equal(json_string_value(json_object_get(an, "due")), "2025-09-20T06:00:00");
    assert_string_equal(json_string_value(json_object_get(an, "done_at")), "2025-09-20T05:00:00");
    json_decref(j);
    assert_true(http("GET", "/api/gate-operations/DD-20250920-01/notice", &r));
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "预通报"));
    free(r.body);
    j = http_json("/api/gate-states?at=2025-08-12T09:00", 200, &r);
    free(r.body);
    assert_string_equal(json_string_value(json_object_get(j, "closed")), "G-LXZ");
    json_decref(j);
    expect_error("GET", "/api/gate-states?at=soon", 400, "gates_at");
    assert_int_equal(audited("gate_operation", "qp / 调度员"), 1);
}

/* Labels: glyph ranges read by an independent protobuf reader (npm pbf) against glyphs.proto,
 * Latin and Chinese, from the server's font; the label points name each county once. */
static void test_labels_and_glyphs(void **state)
{
    (void)state;
    static const struct {
        const char *range;
        unsigned start;
        const char *probe;
    } R[] = {{"0-255", 0, "A"}, {"27904-28159", 27904, "浦"}, {"21504-21759", 21504, "吴"}};
    for (size_t i = 0; i < sizeof R / sizeof R[0]; i++) {
        http_reply r;
        char target[128], path[128], cmd[512];
        snprintf(target, sizeof target, "/glyphs/Noto%%20Sans%%20CJK%%20SC%%20Regular/%s.pbf",
                 R[i].range);
        assert_true(http("GET", target, &r));
        assert_int_equal(r.status, 200);
        assert_non_null(strstr(r.head, "Content-Type: application/x-protobuf"));
        char name[32];
        snprintf(name, sizeof name, "g%zu.pbf", i);
        save_body(&r, name, path, sizeof path);
        snprintf(cmd, sizeof cmd, "node \"%s/tests/web/glyph_check.mjs\" %s %u %s",
                 getenv("CROSSRIVER_SOURCE"), path, R[i].start, R[i].probe);
        assert_int_equal(system(cmd), 0);
    }
    expect_error("GET", "/glyphs/Noto%20Sans/1-256.pbf", 404, "256 code points");
    expect_error("GET", "/glyphs/Noto%20Sans/0-255.png", 404, "256 code points");
    expect_error("GET", "/glyphs/Noto%20Sans/65536-65791.pbf", 404, "256 code points");
    http_reply r;
    json_t *j = http_json("/api/labels", 200, &r);
    free(r.body);
    int wujiang = 0, towns = 0, lakes = 0;
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(j, "features"), i, f)
    {
        const json_t *p = json_object_get(f, "properties");
        const char *kind = json_string_value(json_object_get(p, "kind"));
        wujiang += strcmp(json_string_value(json_object_get(p, "name")), "吴江区") == 0;
        towns += strcmp(kind, "town") == 0;
        lakes += strcmp(kind, "lakes") == 0;
    }
    assert_int_equal(wujiang, 1);
    assert_int_equal(towns, 31); /* the sample towns */
    assert_int_equal(lakes, 4);
    json_decref(j);
}

/* Send raw bytes (headers only: a body declared, not sent) and read what comes back within
 * two seconds; the status, or 0 when nothing came. */
static int raw_status_within_2s(const char *bytes, char *reply, size_t n)
{
    int fd = connect_server();
    assert_true(fd >= 0);
    /* the server may answer and close before it has read all of an oversize request: no
     * SIGPIPE, and what was not written does not matter */
    for (size_t len = strlen(bytes), done = 0; done < len;) {
        ssize_t sent = send(fd, bytes + done, len - done, MSG_NOSIGNAL);
        if (sent <= 0) {
            break;
        }
        done += (size_t)sent;
    }
    struct pollfd pfd = {fd, POLLIN, 0};
    int status = 0;
    reply[0] = '\0';
    if (poll(&pfd, 1, 2000) == 1) {
        ssize_t got = read(fd, reply, n - 1);
        if (got > 0) {
            reply[got] = '\0';
            sscanf(reply, "HTTP/1.%*d %d", &status);
        }
    }
    close(fd);
    return status;
}

/* Abuse refused early: control characters in a path or query are 400 (a NUL no longer cuts
 * the path short); a write whose token is wrong, a body declared over the limit, a body for
 * no route are answered before the body is read — within two seconds, the body never sent. */
static void test_abuse_refused_early(void **state)
{
    (void)state;
    expect_error("GET", "/styles/zone.json%00.png", 400, "control character");
    expect_error("GET", "/api/search?q=%01", 400, "control character");
    expect_error("GET", "/tiles/10/857/418.mvt%7F", 400, "control character");
    expect_error("GET", "/api/search?q=%0A", 400, "control character");
    char reply[4096];
    assert_int_equal(raw_status_within_2s("POST /api/export/evidence HTTP/1.1\r\nHost: x\r\n"
                                          "Authorization: Bearer wrong\r\nContent-Length: "
                                          "52428800\r\n\r\n",
                                          reply, sizeof reply),
                     413);
    assert_int_equal(raw_status_within_2s("POST /api/incidents HTTP/1.1\r\nHost: x\r\n"
                                          "Authorization: Bearer wrong\r\nContent-Length: "
                                          "900\r\n\r\n",
                                          reply, sizeof reply),
                     401);
    assert_non_null(strstr(reply, "unknown or expired bearer token"));
    assert_int_equal(raw_status_within_2s("POST /api/findings HTTP/1.1\r\nHost: x\r\n"
                                          "Content-Length: 900\r\n\r\n",
                                          reply, sizeof reply),
                     401);
    assert_int_equal(raw_status_within_2s("POST /api/nowhere HTTP/1.1\r\nHost: x\r\n"
                                          "Content-Length: 900\r\n\r\n",
                                          reply, sizeof reply),
                     404);
    assert_int_equal(raw_status_within_2s("PUT /api/quality HTTP/1.1\r\nHost: x\r\n"
                                          "Content-Length: 900\r\n\r\n",
                                          reply, sizeof reply),
                     405);
    /* traversal in every encoding finds nothing outside the served directories */
    static const char *const traversal[] = {
        "/styles/%2e%2e/CMakeLists.txt", "/styles/%2E%2E%2FCMakeLists.txt",
        "/web/..%2f..%2fREADME.md",      "/web/%252e%252e/README.md",
        "/vendor/..%5c..%5cREADME.md",   "/styles/....//CMakeLists.txt"};
    for (size_t i = 0; i < sizeof traversal / sizeof traversal[0]; i++) {
        http_reply t;
        assert_true(http("GET", traversal[i], &t));
        if (t.status != 404 || strstr(t.body, "cmake_minimum_required") ||
            strstr(t.body, "# crossriver")) {
            fail_msg("GET %s: %d %.80s", traversal[i], t.status, t.body);
        }
        free(t.body);
    }
    /* oversize and malformed: a URI over the read buffer 414, a header block over it 431, a
     * protocol that is not HTTP 400, HTTP/9.9 505, HTTP/1.1 without Host 400, and a line
     * with no URI at all is closed unanswered */
    size_t big = 70000;
    char *req = malloc(big + 200);
    assert_non_null(req);
    int k = snprintf(req, 200, "GET /api/search?q=");
    memset(req + k, 'a', big);
    snprintf(req + k + big, 200 - 20, " HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_int_equal(raw_status_within_2s(req, reply, sizeof reply), 414);
    k = snprintf(req, 200, "GET /health HTTP/1.1\r\nHost: x\r\nX-Pad: ");
    memset(req + k, 'b', big);
    snprintf(req + k + big, 200 - 20, "\r\n\r\n");
    assert_int_equal(raw_status_within_2s(req, reply, sizeof reply), 431);
    free(req);
    assert_int_equal(
        raw_status_within_2s("GET /health FOO/1.1\r\nHost: x\r\n\r\n", reply, sizeof reply), 400);
    assert_int_equal(
        raw_status_within_2s("GET /health HTTP/9.9\r\nHost: x\r\n\r\n", reply, sizeof reply), 505);
    assert_int_equal(raw_status_within_2s("GARBAGE\r\n\r\n", reply, sizeof reply), 0);
    assert_int_equal(raw_status_within_2s("GET /health HTTP/1.1\r\n\r\n", reply, sizeof reply),
                     400);
    /* slow headers: 200 clients each sending half a request line and waiting do not keep
     * another client from its answer (epoll: a waiting connection holds no worker) */
    int slow[200];
    for (int i = 0; i < 200; i++) {
        slow[i] = connect_server();
        assert_true(slow[i] >= 0);
        assert_true(send(slow[i], "GET /tiles/10/8", 15, MSG_NOSIGNAL) == 15);
    }
    assert_int_equal(
        raw_status_within_2s("GET /health HTTP/1.1\r\nHost: x\r\n\r\n", reply, sizeof reply), 200);
    for (int i = 0; i < 200; i++) {
        close(slow[i]);
    }
    /* each refused token counted and logged with the client's address, early or not */
    double failures = metric("crossriver_auth_failures_total");
    assert_int_equal(raw_status_within_2s("POST /api/findings HTTP/1.1\r\nHost: x\r\n"
                                          "Authorization: Bearer nope\r\nContent-Length: "
                                          "900\r\n\r\n",
                                          reply, sizeof reply),
                     401);
    assert_true(metric("crossriver_auth_failures_total") == failures + 1);
    assert_true(log_lines(" restricted refused ", "/api/findings status=401", "client=127.0.0.1") >=
                1);
    /* CORS: the allowlisted portal may read the map's resources, nobody else, nothing else */
    static const char *const shared[] = {"/tiles.json", "/tiles/10/857/418.mvt",
                                         "/styles/zone.json", "/api/labels"};
    http_reply r;
    char value[256];
    for (size_t i = 0; i < sizeof shared / sizeof shared[0]; i++) {
        assert_true(http_h("GET", shared[i], "Origin: " PORTAL "\r\n", &r));
        assert_true(r.status == 200 || r.status == 204);
        assert_non_null(header(&r, "Access-Control-Allow-Origin: ", value, sizeof value));
        assert_string_equal(value, PORTAL);
        assert_non_null(strstr(r.head, "Origin")); /* Vary names it */
        free(r.body);
        assert_true(http_h("GET", shared[i], "Origin: https://evil.example\r\n", &r));
        assert_null(strstr(r.head, "Access-Control-Allow-Origin"));
        free(r.body);
        /* a prefix or an extension of an allowed origin is another origin */
        assert_true(
            http_h("GET", shared[i], "Origin: https://portal.jiashan.example.evil\r\n", &r));
        assert_null(strstr(r.head, "Access-Control-Allow-Origin"));
        free(r.body);
    }
    assert_true(http_h("GET", "/api/incidents", "Origin: " PORTAL "\r\n", &r));
    assert_int_equal(r.status, 200);
    assert_null(strstr(r.head, "Access-Control-Allow-Origin")); /* the API is not shared */
    free(r.body);
    /* the ordinary request still goes through */
    assert_true(http("GET", "/styles/zone.json", &r));
    assert_int_equal(r.status, 200);
    free(r.body);
}

/* The store as SQLite sees it after a crash: PRAGMA integrity_check says "ok". */
static void assert_store_intact(void)
{
    char path[128];
    snprintf(path, sizeof path, "%s/s.sqlite", g_dir);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "ok");
    sqlite3_finalize(st);
    sqlite3_close(db);
}

/* Load for a server about to be killed: GETs that tolerate a cut connection (http() asserts a
 * whole answer, and an assert outside the test's thread cannot end the test cleanly). */
static void *crash_load(void *arg)
{
    (void)arg;
    long ok = 0;
    for (long n = 0; !g_load_stop; n++) {
        int fd = connect_server();
        if (fd < 0) {
            sleep_ms(5);
            continue;
        }
        const char *req = n % 2 ? "GET /tiles/11/1710/838.mvt HTTP/1.1\r\nHost: x\r\n"
                                  "Connection: close\r\n\r\n"
                                : "GET /api/trace?reach=DCH-01&direction=down HTTP/1.1\r\n"
                                  "Host: x\r\nConnection: close\r\n\r\n";
        char buf[4096];
        if (send(fd, req, strlen(req), MSG_NOSIGNAL) > 0 && read(fd, buf, 12) == 12) {
            ok += memcmp(buf, "HTTP/1.1 200", 12) == 0;
            while (read(fd, buf, sizeof buf) > 0) {
            }
        }
        close(fd);
    }
    return (void *)ok;
}

/* A tile's ETag and the SHA-256 of its bytes. */
static void tile_etag(int z, int x, int y, char etag[96], char sha[65])
{
    char target[96];
    snprintf(target, sizeof target, "/tiles/%d/%d/%d.mvt", z, x, y);
    http_reply r;
    assert_true(http("GET", target, &r));
    assert_int_equal(r.status, 200);
    assert_non_null(header(&r, "ETag: ", etag, 96));
    cr_sha256_hex(r.body ? r.body : "", r.len, sha);
    free(r.body);
}

/* kill -9 of the server under load, then a restart: the store is intact and the same tiles
 * come back, byte for byte, with the same ETags. */
static void test_kill9_under_load_then_restart(void **state)
{
    (void)state;
    enum { N = 12 };
    int tiles[N][3];
    char etag[N][96], sha[N][65];
    for (int i = 0; i < N; i++) {
        tiles[i][0] = 9 + i % 6;
        tile_of(120.70 + 0.03 * i, 31.0 + 0.01 * (i % 4), tiles[i][0], &tiles[i][1], &tiles[i][2]);
        tile_etag(tiles[i][0], tiles[i][1], tiles[i][2], etag[i], sha[i]);
    }
    g_load_stop = 0;
    pthread_t t[3];
    for (int i = 0; i < 3; i++) {
        assert_int_equal(pthread_create(&t[i], NULL, crash_load, NULL), 0);
    }
    sleep_ms(500);
    assert_int_equal(kill(g_pid, SIGKILL), 0);
    int st = 0;
    assert_int_equal(waitpid(g_pid, &st, 0), g_pid);
    assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    g_load_stop = 1;
    long served = 0;
    for (int i = 0; i < 3; i++) {
        void *ok = NULL;
        pthread_join(t[i], &ok);
        served += (long)ok;
    }
    assert_true(served > 10); /* it was killed under load */
    assert_store_intact();
    start_server();
    for (int i = 0; i < N; i++) {
        char e[96], h[65];
        tile_etag(tiles[i][0], tiles[i][1], tiles[i][2], e, h);
        assert_string_equal(e, etag[i]);
        assert_string_equal(h, sha[i]);
    }
}

/* kill -9 of an import in the middle of its transaction while the server serves: the server
 * answers from the previous state (generation, tiles, no new feature), the store is intact,
 * and the same import run again goes through and is served. */
static void test_killed_import_leaves_the_previous_state(void **state)
{
    (void)state;
    char path[128];
    snprintf(path, sizeof path, "%s/many_outfalls.csv", g_dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "排污口编码,排污口名称,排污口类型,所在河流,所属区县,经度,纬度\n");
    for (int i = 0; i < 6000; i++) {
        fprintf(f, "KILL-%05d,测试排口%d,工业排污口,太浦河,吴江区,%.6f,%.6f\n", i, i,
                120.70 + 0.00002 * (i % 100), 31.00 + 0.00002 * (i / 100));
    }
    fclose(f);
    int x, y;
    tile_of(120.701, 31.0006, 14, &x, &y);
    char etag0[96], sha0[65];
    tile_etag(14, x, y, etag0, sha0);
    json_int_t gen0 = health_int("data_generation");
    expect_error("GET", "/api/features/outfalls/KILL-00001", 404, "KILL-00001");

    pid_t imp = fork();
    assert_true(imp >= 0);
    if (imp == 0) {
        char store[128];
        snprintf(store, sizeof store, "%s/s.sqlite", g_dir);
        setenv("CR_TEST_KILL_AFTER_ROWS", "4000", 1); /* SIGKILL at row 4000, mid-transaction */
        execl(getenv("CROSSRIVER_BIN"), "crossriver", "ingest", "--quiet", "--store", store,
              "--layer", "outfalls", path, (char *)NULL);
        _exit(127);
    }
    int st = 0;
    assert_int_equal(waitpid(imp, &st, 0), imp);
    assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    sleep_ms(400); /* four polls */
    assert_int_equal(health_int("data_generation"), gen0);
    char etag[96], sha[65];
    tile_etag(14, x, y, etag, sha);
    assert_string_equal(etag, etag0);
    assert_string_equal(sha, sha0);
    expect_error("GET", "/api/features/outfalls/KILL-00001", 404, "KILL-00001");
    assert_store_intact();

    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "\"$CROSSRIVER_BIN\" ingest --quiet --store %s/s.sqlite --layer outfalls %s", g_dir,
             path);
    sh("%s", cmd);
    assert_true(wait_health("cache_generation", health_int("data_generation")));
    http_reply r;
    assert_true(http("GET", "/api/features/outfalls/KILL-00001", &r));
    assert_int_equal(r.status, 200);
    free(r.body);
    tile_etag(14, x, y, etag, sha);
    assert_string_not_equal(etag, etag0);
}

static void test_every_route_is_documented(void **state)
{
    (void)state;
    char path[512];
    snprintf(path, sizeof path, "%s/docs/http-api.md", getenv("CROSSRIVER_SOURCE"));
    char *doc = NULL;
    size_t len = 0;
    cr_error e = {0};
    assert_int_equal(cr_read_file(path, &doc, &len, &e), CR_OK);
    for (size_t i = 0; i < CR_N_ROUTES; i++) {
        const cr_route *r = &CR_ROUTES[i];
        int found = 0;
        for (const char *line = doc; line && *line && !found; line = strchr(line, '\n')) {
            line += *line == '\n';
            size_t n = strcspn(line, "\n");
            char head[256];
            snprintf(head, sizeof head, "%.*s", (int)(n < 255 ? n : 255), line);
            found = strncmp(head, "## ", 3) == 0 && strstr(head, r->method) != NULL &&
                    strstr(head, r->path) != NULL;
        }
        if (!found) {
            fail_msg("route %s %s has no section in docs/http-api.md", r->method, r->path);
        }
    }
    free(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_health_counts_the_network),
        cmocka_unit_test(test_trace_matches_the_command_line),
        cmocka_unit_test(test_geojson_reads_back_in_gdal),
        cmocka_unit_test(test_bad_requests_get_clear_errors),
        cmocka_unit_test(test_tiles_gzip_etag_and_errors),
        cmocka_unit_test(test_tilejson_features_and_search),
        cmocka_unit_test(test_concurrent_clients_agree),
        cmocka_unit_test(test_style_validates_and_matches_the_tiles),
        cmocka_unit_test(test_labels_and_glyphs),
        cmocka_unit_test(test_seed_matches_the_server),
        cmocka_unit_test(test_web_page_in_a_browser),
        cmocka_unit_test(test_metrics_parse_and_add_up),
        cmocka_unit_test(test_patrol_over_the_samples),
        cmocka_unit_test(test_tokens_open_restricted_data),
        cmocka_unit_test(test_evidence_over_http),
        cmocka_unit_test(test_water_quality_over_http),
        cmocka_unit_test(test_incidents_over_http),
        cmocka_unit_test(test_records_over_http),
        cmocka_unit_test(test_abuse_refused_early),
        cmocka_unit_test(test_cache_hits_and_precise_invalidation),
        cmocka_unit_test(test_sighup_reloads_tokens_under_load),
        cmocka_unit_test(test_network_rebuild_is_picked_up),
        cmocka_unit_test(test_kill9_under_load_then_restart),
        cmocka_unit_test(test_killed_import_leaves_the_previous_state),
        cmocka_unit_test(test_sigterm_stops_cleanly),
        cmocka_unit_test(test_every_route_is_documented),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
