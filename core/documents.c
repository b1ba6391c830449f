/* SPDX-License-Identifier: MIT */
/* The document writers every report shares (patrol checklists, evidence packages, later the
 * section table and statements): CSV with a BOM, a printable HTML page, KML for field viewers.
 * Rule: text is escaped here, never by the caller; output is byte-for-byte deterministic. */
#include "core.h"

#include <string.h>

void cr_csv_begin(cr_strbuf *b)
{
    cr_strbuf_puts(b, "\xEF\xBB\xBF"); /* BOM: Excel and WPS read UTF-8 */
}

void cr_csv_row(cr_strbuf *b, const char *const *cells, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        cr_csv_append_cell(b, cells[i], i + 1 == n);
    }
}

void cr_html_begin(cr_strbuf *b, const char *title, const char *css)
{
    cr_strbuf_puts(b,
                   "<!doctype html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>");
    cr_xml_append(b, title);
    cr_strbuf_puts(b, "</title><style>");
    cr_strbuf_puts(b, css ? css : "");
    cr_strbuf_puts(b, "</style></head><body>\n");
}

void cr_html_cell(cr_strbuf *b, const char *tag, const char *text)
{
    cr_strbuf_printf(b, "<%s>", tag);
    cr_xml_append(b, text);
    cr_strbuf_printf(b, "</%s>", tag);
}

void cr_html_end(cr_strbuf *b)
{
    cr_strbuf_puts(b, "</body></html>\n");
}

void cr_kml_begin(cr_strbuf *b, const char *name)
{
    cr_strbuf_puts(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<kml xmlns=\"http://"
                      "www.opengis.net/kml/2.2\"><Document><name>");
    cr_xml_append(b, name);
    cr_strbuf_puts(b, "</name>\n");
}

void cr_kml_folder_begin(cr_strbuf *b, const char *name)
{
    cr_strbuf_puts(b, "<Folder><name>");
    cr_xml_append(b, name);
    cr_strbuf_puts(b, "</name>\n");
}

void cr_kml_folder_end(cr_strbuf *b)
{
    cr_strbuf_puts(b, "</Folder>");
}

void cr_kml_point(cr_strbuf *b, const char *name, const char *description, double lon, double lat)
{
    cr_strbuf_puts(b, "<Placemark><name>");
    cr_xml_append(b, name);
    cr_strbuf_puts(b, "</name><description>");
    cr_xml_append(b, description);
    cr_strbuf_printf(b,
                     "</description><Point><coordinates>%.7f,%.7f</coordinates></Point>"
                     "</Placemark>\n",
                     lon, lat);
}

void cr_kml_line_begin(cr_strbuf *b, const char *name, const char *description, const char *style)
{
    cr_strbuf_puts(b, "<Placemark><name>");
    cr_xml_append(b, name);
    cr_strbuf_puts(b, "</name>");
    if (description) {
        cr_strbuf_puts(b, "<description>");
        cr_xml_append(b, description);
        cr_strbuf_puts(b, "</description>");
    }
    if (style) {
        cr_strbuf_printf(b, "<styleUrl>#%s</styleUrl>", style);
    }
    cr_strbuf_puts(b, "<LineString><coordinates>");
}

void cr_kml_line_vertex(cr_strbuf *b, size_t i, double lon, double lat)
{
    cr_strbuf_printf(b, "%s%.7f,%.7f", i ? " " : "", lon, lat);
}

void cr_kml_line_end(cr_strbuf *b)
{
    cr_strbuf_puts(b, "</coordinates></LineString></Placemark>\n");
}

void cr_kml_end(cr_strbuf *b)
{
    cr_strbuf_puts(b, "</Document></kml>\n");
}
