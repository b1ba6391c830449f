/* SPDX-License-Identifier: MIT */
/* Layer definitions: the shipped ones load; mistakes are errors naming the file and key. */
#include "store/store.h"
#include "test_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void test_shipped_definitions_cover_the_mission(void **state)
{
    (void)state;
    cr_layer_set *set = NULL;
    cr_error e = {0};
    assert_int_equal(cr_layer_set_load(cr_layers_default_dir(), &set, &e), CR_OK);
    const char *want[] = {"admin_units",      "contacts",
                          "experts",          "findings",
                          "gate_operations",  "gates",
                          "hyacinth_reports", "incidents",
                          "intakes",          "lakes",
                          "mobile_sources",   "monitoring_sections",
                          "outfalls",         "protection_zones",
                          "reaches",          "stockpiles"};
    assert_int_equal(set->n_layers, sizeof want / sizeof want[0]);
    for (size_t i = 0; i < set->n_layers; i++) {
        assert_string_equal(set->layers[i]->name, want[i]);
    }
    const cr_layer_def *o = cr_layer_set_find(set, "outfalls");
    int kind = cr_layer_def_field_index(o, "kind");
    assert_true(kind >= 0);
    assert_int_equal(o->fields[kind].n_values, 4); /* the national four classes */
    const cr_layer_def *z = cr_layer_set_find(set, "protection_zones");
    const cr_field_def *grade = &z->fields[cr_layer_def_field_index(z, "grade")];
    assert_int_equal(grade->n_values, 3);
    assert_int_equal(cr_geom_kind_name(z->geom)[0], 'm');
    const cr_layer_def *ops = cr_layer_set_find(set, "gate_operations");
    assert_int_equal(ops->fields[cr_layer_def_field_index(ops, "action")].n_values, 3);
    const cr_layer_def *c = cr_layer_set_find(set, "contacts");
    assert_true(c->fields[cr_layer_def_field_index(c, "liaison")].restricted);
    cr_layer_set_free(set);
}

static cr_status parse_text(const char *json, char *msg_out)
{
    char path[] = "/tmp/crossriver-layerdef-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, json, strlen(json)), (ssize_t)strlen(json));
    close(fd);
    cr_layer_def *d = NULL;
    cr_error e = {0};
    cr_status rc = cr_layer_def_parse(path, &d, &e);
    cr_layer_def_free(d);
    /* drop the temporary path from the message */
    const char *colon = strstr(e.msg, ": ");
    strcpy(msg_out, colon ? colon + 2 : e.msg);
    unlink(path);
    return rc;
}

static void test_mistakes_are_errors_naming_the_key(void **state)
{
    (void)state;
    char msg[512];
    assert_int_equal(parse_text("{\"name\":\"x\",\"geometry\":\"point\",\"access\":\"public\","
                                "\"id_field\":\"id\",\"fields\":[{\"name\":\"id\",\"type\":"
                                "\"text\",\"alias\":[]}]}",
                                msg),
                     CR_EINVAL);
    assert_string_equal(msg, "fields[0]: unknown key 'alias'");
    assert_int_equal(parse_text("{\"name\":\"x\",\"geometry\":\"point\",\"access\":\"public\","
                                "\"id_field\":\"id\",\"fields\":[{\"name\":\"id\",\"type\":"
                                "\"string\"}]}",
                                msg),
                     CR_EINVAL);
    assert_string_equal(msg, "field 'id': type must be text, integer, real, date, datetime or "
                             "boolean");
    assert_int_equal(parse_text("{\"name\":\"x\",\"geometry\":\"none\",\"access\":\"public\","
                                "\"id_field\":\"nope\",\"fields\":[{\"name\":\"id\",\"type\":"
                                "\"text\"}]}",
                                msg),
                     CR_EINVAL);
    assert_string_equal(msg, "id_field must name one of the fields");
    assert_int_equal(parse_text("{\"name\":\"x\",\"geometry\":\"blob\"}", msg), CR_EINVAL);
    assert_string_equal(msg, "geometry must be none, point, linestring or multipolygon");
    assert_int_equal(parse_text("{\"name\": \"x\", \"name\": \"y\"}", msg), CR_EPARSE);
    /* a range that no value could meet, and a bound that is not a number (fuzz_layer_def) */
    assert_int_equal(parse_text("{\"name\":\"x\",\"geometry\":\"none\",\"access\":\"public\","
                                "\"id_field\":\"id\",\"fields\":[{\"name\":\"id\",\"type\":"
                                "\"text\"},{\"name\":\"v\",\"type\":\"real\",\"min\":8,"
                                "\"max\":5}]}",
                                msg),
                     CR_EINVAL);
    assert_string_equal(msg, "field 'v': min 8 is above max 5");
    assert_int_equal(parse_text("{\"name\":\"x\",\"geometry\":\"none\",\"access\":\"public\","
                                "\"id_field\":\"id\",\"fields\":[{\"name\":\"id\",\"type\":"
                                "\"text\"},{\"name\":\"v\",\"type\":\"real\",\"min\":\"0\"}]}",
                                msg),
                     CR_EINVAL);
    assert_string_equal(msg, "field 'v': min and max must be numbers");
    /* tile settings: typos, wrong types, unknown attributes, generalising points */
    static const struct {
        const char *tile, *msg;
    } tiles[] = {
        {"{\"maxzom\": 3}", "tile: unknown key 'maxzom' (minzoom, maxzoom, attributes, "
                            "simplify_px, drop_priority, generalise, keep_per_tile, label)"},
        {"{\"keep_per_tile\": -1}", "tile.keep_per_tile: wrong type or range (lines a tile keeps"
                                    " at each generalised level, 0–1000000; 0 keeps all; line "
                                    "layers only)"},
        {"{\"keep_per_tile\": 1.5}", "tile.keep_per_tile: wrong type or range (lines a tile "
                                     "keeps at each generalised level, 0–1000000; 0 keeps all; "
                                     "line layers only)"},
        {"{\"label\": \"id\"}",
         "tile.label: wrong type or range (a field of a polygon layer, its label at one point)"},
        {"{\"minzoom\": 30}", "tile.minzoom: wrong type or range"},
        {"{\"attributes\": [\"id\", \"nmae\"]}", "tile.attributes[1]: no field 'nmae'"},
        {"{\"generalise\": 4}",
         "tile.generalise: wrong type or range (a list of zooms 0–22, polygon and line layers "
         "only)"},
    };
    for (size_t i = 0; i < sizeof tiles / sizeof tiles[0]; i++) {
        char json[512];
        snprintf(json, sizeof json,
                 "{\"name\":\"x\",\"geometry\":\"linestring\",\"access\":\"public\","
                 "\"id_field\":\"id\",\"fields\":[{\"name\":\"id\",\"type\":\"text\"}],"
                 "\"tile\":%s}",
                 tiles[i].tile);
        assert_int_equal(parse_text(json, msg), CR_EINVAL);
        assert_string_equal(msg, tiles[i].msg);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shipped_definitions_cover_the_mission),
        cmocka_unit_test(test_mistakes_are_errors_naming_the_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
