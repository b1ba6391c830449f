/* SPDX-License-Identifier: MIT */
/* The deployment config (cr_api_config_check over the JSON text, as cr_api_config_load reads
 * crossriver.json). Invariants: an accepted config gives the alarm rules a configuration in
 * their documented ranges and a region that is a real box; every key it has is a known one;
 * a refusal names the key path (or says the whole is not an object). */
#include "api/api.h"
#include "quality/alarms.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *root = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
    if (root == NULL) {
        return 0;
    }
    cr_error e = {0};
    if (cr_api_config_check(root, &e) == CR_OK) {
        cr_wq_alarm_config c;
        assert(cr_wq_alarm_config_load(json_object_get(root, "alarms"), &c, NULL) == CR_OK);
        assert(c.window >= 5 && c.min_window >= 3 && c.z >= 1 && c.merge_steps >= 1);
        assert(c.repeat_count >= 2 && c.silent_hours >= 1 && c.lookback_hours >= 1);
        for (size_t i = 0; i < c.n_indicators; i++) {
            assert(c.indicators[i][0] != '\0');
        }
        json_t *r = json_object_get(root, "region");
        if (r) {
            assert(json_number_value(json_array_get(r, 0)) <
                   json_number_value(json_array_get(r, 2)));
            assert(json_number_value(json_array_get(r, 1)) <
                   json_number_value(json_array_get(r, 3)));
        }
        const char *key;
        json_t *v;
        json_object_foreach(root, key, v)
        {
            assert(strcmp(key, "region") == 0 || strcmp(key, "full_survey") == 0 ||
                   strcmp(key, "alarms") == 0 || strcmp(key, "incidents") == 0 ||
                   strcmp(key, "gate_operations") == 0);
        }
    } else {
        static const char *const HEADS[] = {
            "the deployment config", "region", "full_survey", "alarms", "incidents",
            "gate_operations",       NULL};
        int named = 0;
        for (size_t i = 0; HEADS[i]; i++) {
            named |= strncmp(e.msg, HEADS[i], strlen(HEADS[i])) == 0;
        }
        assert(e.code == CR_EINVAL && named);
    }
    json_decref(root);
    return 0;
}
