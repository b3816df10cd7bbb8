/*
 * json.h - JSON from outside (request bodies, --input-json), read strictly.
 */
#ifndef WIM_TOOLS_JSON_H
#define WIM_TOOLS_JSON_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

/* The JSON value of len bytes of text (NULL taken as ""), or NULL with why in
 * err ("it ..." : the caller names what "it" is): not JSON, a NUL, data after
 * the value, or a key twice in one object. Free with cJSON_Delete. */
cJSON *json_read(const char *text, size_t len, char *err, size_t errlen);

#endif
