/* SPDX-License-Identifier: MIT */
/* For the drivers of query parameters: "k=v&k=v" into the JSON object HTTP's adapter hands
 * the handlers (a later key replaces an earlier one). text is cut up in place. */
#ifndef CR_FUZZ_PARAMS_H
#define CR_FUZZ_PARAMS_H

#include <jansson.h>
#include <string.h>

static inline json_t *fuzz_params(char *text)
{
    json_t *params = json_object();
    char *save = NULL;
    for (char *kv = strtok_r(text, "&", &save); kv; kv = strtok_r(NULL, "&", &save)) {
        char *eq = strchr(kv, '=');
        if (eq) {
            *eq = '\0';
        }
        json_object_set_new(params, kv, json_string(eq ? eq + 1 : ""));
    }
    return params;
}

#endif
