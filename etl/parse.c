/* SPDX-License-Identifier: MIT */
/* Text values as inventories write them: DMS angles, numbers, dates, booleans, headers.
 * Rule: every character is accounted for; a leftover is an error, never silently dropped. */
#include "etl.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Internal marker bytes produced by angle normalisation. */
enum { MARK_DEG = 'd', MARK_MIN = 'm', MARK_SEC = 's' };

/* Map one code point of an angle to the normalised alphabet: digits . + - : space, d m s
 * markers and E W N S hemispheres; 0 to skip it; -1 when it has no place in an angle. */
static int angle_char(int32_t cp)
{
    cp = cr_text_fold_fullwidth(cp);
    if ((cp >= '0' && cp <= '9') || cp == '.' || cp == '+' || cp == '-' || cp == ':') {
        return (int)cp;
    }
    if (cr_text_is_blank(cp)) {
        return ' ';
    }
    switch (cp) {
    case 0x00B0: /* ° */
    case 0x00BA: /* º */
    case 0x02DA: /* ˚ */
    case 0x5EA6: /* 度 */
        return MARK_DEG;
    case '\'':
    case 0x2032: /* ′ */
    case 0x2019: /* ’ */
    case 0x2018: /* ‘ */
    case 0x00B4: /* ´ */
    case 0x02B9: /* ʹ */
    case 0x5206: /* 分 */
        return MARK_MIN;
    case '"':
    case 0x2033: /* ″ */
    case 0x201D: /* ” */
    case 0x201C: /* “ */
    case 0x02BA: /* ʺ */
    case 0x3003: /* 〃 */
    case 0x79D2: /* 秒 */
        return MARK_SEC;
    case 'E':
    case 'e':
    case 0x4E1C: /* 东 */
    case 0x6771: /* 東 */
        return 'E';
    case 'W':
    case 'w':
    case 0x897F: /* 西 */
        return 'W';
    case 'N':
    case 'n':
    case 0x5317: /* 北 */
        return 'N';
    case 'S':
    case 's':
    case 0x5357: /* 南 */
        return 'S';
    case 0x7ECF: /* 经 */
    case 0x7D93: /* 經 */
    case 0x7EAC: /* 纬 */
    case 0x7DEF: /* 緯 */
        return 0;
    default:
        return -1;
    }
}

typedef int (*char_map_fn)(int32_t cp);

/* Map text to ASCII one code point at a time: map returns the ASCII byte, 0 to drop the
 * character, or -1 when it has no place here (an error naming it). */
static cr_status map_to_ascii(const char *text, char_map_fn map, cr_strbuf *out, cr_error *err)
{
    const char *p = text;
    const char *end = text + strlen(text);
    while (p < end) {
        const char *at = p;
        int32_t cp = cr_utf8_next(&p, end);
        if (cp < 0) {
            return cr_error_set(err, CR_EPARSE, "not valid UTF-8 at byte %d", (int)(at - text));
        }
        int c = map(cp);
        if (c < 0) {
            return cr_error_set(err, CR_EPARSE, "unexpected character '%.*s'", (int)(p - at), at);
        }
        if (c > 0) {
            char ch = (char)c;
            cr_strbuf_append(out, &ch, 1);
        }
    }
    return CR_OK;
}

/* Normalise an angle into ASCII; "''" (two primes) becomes a seconds marker. */
static cr_status normalise_angle(const char *text, cr_strbuf *out, cr_error *err)
{
    cr_status rc = map_to_ascii(text, angle_char, out, err);
    if (rc != CR_OK || out->data == NULL) {
        return rc;
    }
    size_t w = 0;
    for (size_t r = 0; r < out->len; r++) {
        if (out->data[r] == MARK_MIN && w > 0 && out->data[w - 1] == MARK_MIN) {
            out->data[w - 1] = MARK_SEC;
            continue;
        }
        out->data[w++] = out->data[r];
    }
    out->len = w;
    out->data[w] = '\0';
    return CR_OK;
}

typedef struct {
    const char *s; /* normalised text */
    size_t i;      /* cursor */
} cursor;

static void skip_spaces(cursor *c)
{
    while (c->s[c->i] == ' ') {
        c->i++;
    }
}

static int is_hemisphere(char ch)
{
    return ch == 'E' || ch == 'W' || ch == 'N' || ch == 'S';
}

/* Read digits with at most one '.', into *v; *has_frac set when a fraction was written. */
static int read_number(cursor *c, double *v, int *has_frac)
{
    size_t start = c->i;
    int dots = 0;
    int digits = 0;
    while (isdigit((unsigned char)c->s[c->i]) || c->s[c->i] == '.') {
        if (c->s[c->i] == '.') {
            dots++;
        } else {
            digits++;
        }
        c->i++;
    }
    if (digits == 0 || dots > 1) {
        c->i = start;
        return 0;
    }
    char buf[64];
    size_t n = c->i - start;
    if (n >= sizeof buf) {
        return 0;
    }
    memcpy(buf, c->s + start, n);
    buf[n] = '\0';
    *v = strtod(buf, NULL);
    *has_frac = dots > 0;
    return 1;
}

static cr_status set_hemisphere(char *hemi, char ch, cr_error *err)
{
    if (*hemi != 0) {
        return cr_error_set(err, CR_EPARSE, "two hemisphere letters (%c and %c)", *hemi, ch);
    }
    *hemi = ch;
    return CR_OK;
}

/* Parse up to three components with role markers or positions. */
static cr_status parse_components(cursor *c, double part[3], char *hemi, cr_error *err)
{
    static const char *role_names[] = {"degrees", "minutes", "seconds"};
    int last_role = -1;
    int last_frac = 0;
    while (c->s[c->i] != '\0') {
        skip_spaces(c);
        if (c->s[c->i] == '\0') {
            break;
        }
        if (is_hemisphere(c->s[c->i]) && last_role >= 0) {
            if (set_hemisphere(hemi, c->s[c->i], err) != CR_OK) {
                return CR_EPARSE;
            }
            c->i++;
            continue;
        }
        double v;
        int frac;
        if (!read_number(c, &v, &frac)) {
            char ch = c->s[c->i];
            const char *what = ch == MARK_DEG   ? "°"
                               : ch == MARK_MIN ? "′"
                               : ch == MARK_SEC ? "″"
                                                : NULL;
            if (what != NULL) {
                return cr_error_set(err, CR_EPARSE, "unit mark %s without a number", what);
            }
            if (isdigit((unsigned char)ch) || ch == '.') {
                return cr_error_set(err, CR_EPARSE, "malformed number at '%s'", c->s + c->i);
            }
            return cr_error_set(err, CR_EPARSE, "unexpected '%c'", ch);
        }
        if (last_frac) {
            return cr_error_set(err, CR_EPARSE, "%s have a fraction but more follows",
                                role_names[last_role]);
        }
        skip_spaces(c);
        int role = last_role + 1;
        char mark = c->s[c->i];
        if (mark == MARK_DEG || mark == MARK_MIN || mark == MARK_SEC) {
            role = mark == MARK_DEG ? 0 : mark == MARK_MIN ? 1 : 2;
            c->i++;
        } else if (mark == ':') {
            c->i++;
        }
        if (role <= last_role || role > 2) {
            return cr_error_set(err, CR_EPARSE, "too many parts or parts out of order");
        }
        part[role] = v;
        last_role = role;
        last_frac = frac;
    }
    if (last_role < 0) {
        return cr_error_set(err, CR_EPARSE, "no number");
    }
    return CR_OK;
}

cr_status cr_etl_parse_angle(const char *text, cr_axis axis, double *deg_out, cr_error *err)
{
    cr_strbuf norm = {0};
    cr_status rc = normalise_angle(text, &norm, err);
    if (rc != CR_OK) {
        goto done;
    }
    cursor c = {norm.data ? norm.data : "", 0};
    skip_spaces(&c);
    if (c.s[c.i] == '\0') {
        rc = cr_error_set(err, CR_EPARSE, "empty");
        goto done;
    }
    char hemi = 0;
    int sign = 1;
    int has_sign = 0;
    if (is_hemisphere(c.s[c.i])) {
        hemi = c.s[c.i++];
        skip_spaces(&c);
    }
    if (c.s[c.i] == '+' || c.s[c.i] == '-') {
        sign = c.s[c.i] == '-' ? -1 : 1;
        has_sign = 1;
        c.i++;
    }
    double part[3] = {0, 0, 0};
    rc = parse_components(&c, part, &hemi, err);
    if (rc != CR_OK) {
        goto done;
    }
    if (part[1] >= 60.0) {
        rc = cr_error_set(err, CR_EPARSE, "minutes %g not below 60", part[1]);
        goto done;
    }
    if (part[2] >= 60.0) {
        rc = cr_error_set(err, CR_EPARSE, "seconds %g not below 60", part[2]);
        goto done;
    }
    if (hemi != 0 && has_sign) {
        rc = cr_error_set(err, CR_EPARSE, "both a sign and a hemisphere letter");
        goto done;
    }
    if (hemi != 0) {
        int lon_hemi = hemi == 'E' || hemi == 'W';
        if (lon_hemi != (axis == CR_AXIS_LON)) {
            rc = cr_error_set(err, CR_EPARSE, "hemisphere %c in a %s", hemi,
                              axis == CR_AXIS_LON ? "longitude" : "latitude");
            goto done;
        }
        sign = (hemi == 'W' || hemi == 'S') ? -1 : 1;
    }
    double deg = sign * (part[0] + part[1] / 60.0 + part[2] / 3600.0);
    double limit = axis == CR_AXIS_LON ? 180.0 : 90.0;
    if (fabs(deg) > limit) {
        rc = cr_error_set(err, CR_EPARSE, "%s %.6f outside [-%g, %g]",
                          axis == CR_AXIS_LON ? "longitude" : "latitude", deg, limit, limit);
        goto done;
    }
    *deg_out = deg;
done:
    cr_strbuf_cleanup(&norm);
    return rc;
}

static int number_char(int32_t cp)
{
    cp = cr_text_fold_fullwidth(cp);
    if (cr_text_is_blank(cp)) {
        return 0;
    }
    return cp < 0x80 ? (int)cp : -1;
}

/* Remove thousands separators when every group after the first has three digits. */
static int strip_thousands(char *s)
{
    char *comma = strchr(s, ',');
    if (comma == NULL) {
        return 1;
    }
    char *digits_start = s + (s[0] == '+' || s[0] == '-');
    char *int_end = digits_start + strspn(digits_start, "0123456789,");
    size_t lead = strcspn(digits_start, ",");
    if (lead == 0 || lead > 3) {
        return 0;
    }
    for (char *q = digits_start + lead; q < int_end; q += 4) {
        if (*q != ',' || strspn(q + 1, "0123456789") < 3 || (q + 4 < int_end && q[4] != ',')) {
            return 0;
        }
    }
    char *w = s;
    for (char *r = s; *r; r++) {
        if (*r != ',' || r >= int_end) {
            *w++ = *r;
        }
    }
    *w = '\0';
    return strchr(s, ',') == NULL;
}

cr_status cr_etl_parse_real(const char *text, double *out, cr_error *err)
{
    cr_strbuf sb = {0};
    cr_status rc = map_to_ascii(text, number_char, &sb, err);
    if (rc != CR_OK) {
        goto done;
    }
    char *s = sb.data ? sb.data : "";
    if (*s == '\0') {
        rc = cr_error_set(err, CR_EPARSE, "empty");
        goto done;
    }
    if (!strip_thousands(s)) {
        rc = cr_error_set(err, CR_EPARSE, "not a number");
        goto done;
    }
    /* Only plain decimal notation: strtod alone would also take "inf", "nan" and hex. */
    size_t k = (s[0] == '+' || s[0] == '-');
    size_t int_digits = strspn(s + k, "0123456789");
    k += int_digits;
    size_t frac_digits = 0;
    if (s[k] == '.') {
        frac_digits = strspn(s + k + 1, "0123456789");
        k += 1 + frac_digits;
    }
    if (int_digits + frac_digits == 0) {
        rc = cr_error_set(err, CR_EPARSE, "not a number");
        goto done;
    }
    if (s[k] == 'e' || s[k] == 'E') {
        size_t e = k + 1 + (s[k + 1] == '+' || s[k + 1] == '-');
        size_t exp_digits = strspn(s + e, "0123456789");
        k = exp_digits ? e + exp_digits : k;
    }
    if (s[k] != '\0') {
        rc = cr_error_set(err, CR_EPARSE, "not a number (unexpected '%s')", s + k);
        goto done;
    }
    errno = 0;
    double v = strtod(s, NULL);
    if (errno == ERANGE || !isfinite(v)) {
        rc = cr_error_set(err, CR_EPARSE, "number out of range");
        goto done;
    }
    *out = v;
done:
    cr_strbuf_cleanup(&sb);
    return rc;
}

cr_status cr_etl_parse_integer(const char *text, int64_t *out, cr_error *err)
{
    double v;
    if (cr_etl_parse_real(text, &v, err) != CR_OK) {
        return CR_EPARSE;
    }
    if (v != floor(v)) {
        return cr_error_set(err, CR_EPARSE, "not a whole number");
    }
    if (v < -9.0e15 || v > 9.0e15) {
        return cr_error_set(err, CR_EPARSE, "whole number out of range");
    }
    *out = (int64_t)v;
    return CR_OK;
}

static int days_in_month(int y, int m)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : days[m - 1];
}

/* Read up to max_digits digits; returns digits read. */
static int read_uint(const char **p, int max_digits, int *v)
{
    int n = 0;
    *v = 0;
    while (n < max_digits && isdigit((unsigned char)**p)) {
        *v = *v * 10 + (**p - '0');
        (*p)++;
        n++;
    }
    return n;
}

/* 年 月 / . become '-', 日 and 秒 are dropped, 时 分 点 become ':'; widths folded. */
static int date_char(int32_t cp)
{
    cp = cr_text_fold_fullwidth(cp);
    if (cp == 0x5E74 || cp == 0x6708 || cp == '/' || cp == '.') { /* 年 月 */
        return '-';
    }
    if (cp == 0x65E5 || cp == 0x79D2) { /* 日 秒 */
        return 0;
    }
    if (cp == 0x65F6 || cp == 0x6642 || cp == 0x5206 || cp == 0x70B9) { /* 时 時 分 点 */
        return ':';
    }
    if (cr_text_is_blank(cp) || cp == 'T') {
        return ' ';
    }
    return cp > 0 && cp < 0x80 ? (int)cp : -1;
}

/* Parse the normalised date part; *rest points after it. */
static cr_status parse_ymd(const char *s, int *y, int *m, int *d, const char **rest, cr_error *err)
{
    const char *p = s;
    while (*p == ' ') {
        p++;
    }
    if (strspn(p, "0123456789") == 8) {
        read_uint(&p, 4, y);
        read_uint(&p, 2, m);
        read_uint(&p, 2, d);
    } else {
        if (read_uint(&p, 4, y) != 4 || *p++ != '-' || read_uint(&p, 2, m) == 0 || *p++ != '-' ||
            read_uint(&p, 2, d) == 0) {
            return cr_error_set(err, CR_EPARSE, "not a date (expected year-month-day)");
        }
    }
    if (*m < 1 || *m > 12 || *d < 1 || *d > days_in_month(*y, *m) || *y < 1900 || *y > 2200) {
        return cr_error_set(err, CR_EPARSE, "no such date %04d-%02d-%02d", *y, *m, *d);
    }
    *rest = p;
    return CR_OK;
}

cr_status cr_etl_parse_date(const char *text, char out[11], cr_error *err)
{
    char full[20];
    if (cr_etl_parse_datetime(text, full, err) != CR_OK) {
        return CR_EPARSE;
    }
    if (strcmp(full + 10, "T00:00:00") != 0) {
        return cr_error_set(err, CR_EPARSE, "a time of day where a date was expected");
    }
    memcpy(out, full, 10);
    out[10] = '\0';
    return CR_OK;
}

cr_status cr_etl_parse_datetime(const char *text, char out[20], cr_error *err)
{
    cr_strbuf sb = {0};
    cr_status rc = map_to_ascii(text, date_char, &sb, err);
    if (rc != CR_OK) {
        goto done;
    }
    int y = 0;
    int mo = 0;
    int d = 0;
    int h = 0;
    int mi = 0;
    int se = 0;
    const char *p = "";
    rc = parse_ymd(sb.data ? sb.data : "", &y, &mo, &d, &p, err);
    if (rc != CR_OK) {
        goto done;
    }
    while (*p == ' ') {
        p++;
    }
    if (*p != '\0') {
        if (read_uint(&p, 2, &h) == 0 || *p++ != ':' || read_uint(&p, 2, &mi) != 2) {
            rc = cr_error_set(err, CR_EPARSE, "not a time of day (expected hour:minute)");
            goto done;
        }
        if (*p == ':' && p[1] != '\0' && (p++, read_uint(&p, 2, &se) != 2)) {
            rc = cr_error_set(err, CR_EPARSE, "not a time of day (bad seconds)");
            goto done;
        }
        while (*p == ' ' || *p == ':') {
            p++;
        }
        /* an explicit UTC offset (GPX, ISO 8601: Z, +00, +08:00, -0500) is converted to China
         * Standard Time, the time crossriver keeps */
        int off_min = 0, has_off = 0;
        if (*p == 'Z' || *p == 'z') {
            has_off = 1;
            p++;
        } else if ((*p == '+' || *p == '-') && p[1] >= '0' && p[1] <= '9') {
            int sign = *p == '-' ? -1 : 1, oh = 0, om = 0;
            p++;
            if (read_uint(&p, 2, &oh) != 2) {
                rc = cr_error_set(err, CR_EPARSE, "not a UTC offset (+HH or +HH:MM)");
                goto done;
            }
            if (*p == ':') {
                p++;
            }
            if (*p >= '0' && *p <= '9' && read_uint(&p, 2, &om) != 2) {
                rc = cr_error_set(err, CR_EPARSE, "not a UTC offset (+HH or +HH:MM)");
                goto done;
            }
            if (oh > 14 || om > 59) {
                rc = cr_error_set(err, CR_EPARSE, "not a UTC offset (beyond ±14:00)");
                goto done;
            }
            off_min = sign * (oh * 60 + om);
            has_off = 1;
        }
        if (*p != '\0' || h > 23 || mi > 59 || se > 59) {
            rc = cr_error_set(err, CR_EPARSE, "not a time of day");
            goto done;
        }
        if (has_off) {
            struct tm tm = {0};
            tm.tm_year = y - 1900;
            tm.tm_mon = mo - 1;
            tm.tm_mday = d;
            tm.tm_hour = h;
            tm.tm_min = mi;
            tm.tm_sec = se;
            time_t t = timegm(&tm) - (time_t)off_min * 60 + 8 * 3600; /* to UTC, to CST */
            gmtime_r(&t, &tm);
            y = tm.tm_year + 1900;
            mo = tm.tm_mon + 1;
            d = tm.tm_mday;
            h = tm.tm_hour;
            mi = tm.tm_min;
            se = tm.tm_sec;
            if (y < 1000 || y > 9999) {
                rc = cr_error_set(err, CR_EPARSE, "the time leaves years 1000–9999");
                goto done;
            }
        }
    }
    /* "YYYY-MM-DDTHH:MM:SS" by hand: this runs for every date cell of large imports */
    const int parts[6] = {y, mo, d, h, mi, se};
    const char seps[6] = {'-', '-', 'T', ':', ':', '\0'};
    char *o = out;
    for (int k = 0; k < 6; k++) {
        int digits = k == 0 ? 4 : 2;
        for (int q = digits - 1, v = parts[k]; q >= 0; q--, v /= 10) {
            o[q] = (char)('0' + v % 10);
        }
        o += digits;
        *o++ = seps[k];
    }
done:
    cr_strbuf_cleanup(&sb);
    return rc;
}

cr_status cr_etl_parse_boolean(const char *text, int *out, cr_error *err)
{
    static const char *yes[] = {"是", "有", "y", "yes", "true", "1", "√", "✓", "t"};
    static const char *no[] = {"否", "无", "無", "n", "no", "false", "0", "×", "✗", "f"};
    char *f = cr_text_fold(text);
    int found = -1;
    for (size_t i = 0; i < sizeof yes / sizeof yes[0] && found < 0; i++) {
        if (strcmp(f, yes[i]) == 0) {
            found = 1;
        }
    }
    for (size_t i = 0; i < sizeof no / sizeof no[0] && found < 0; i++) {
        if (strcmp(f, no[i]) == 0) {
            found = 0;
        }
    }
    free(f);
    if (found < 0) {
        return cr_error_set(err, CR_EPARSE, "not yes/no (是/否)");
    }
    *out = found;
    return CR_OK;
}
