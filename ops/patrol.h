/* SPDX-License-Identifier: MIT */
/* patrol: a joint river patrol (联合巡河) along the network. Rules (docs/patrol.md):
 * - the reaches to patrol are those whose name contains one of the given rivers (or the given
 *   reach IDs); "一河三湖" is the Taipu River and the lakes Dianshan, Yuandang and Fenhu;
 * - the route starts at --from (the nearest node within 2 km, else the nearer end of the nearest
 *   reach within 2 km) or else at the upstream end of the selection
 *   from which the flow passes the most selected reaches, then repeatedly goes to the nearest
 *   reach not yet patrolled (shortest path over the network, either way) and along it, until
 *   every selected reach is patrolled, then to --to when given;
 * - stops are the open issues on or near the route: hyacinth reports not cleared by the date,
 *   outfalls under rectification, inside a protection zone or unmatched by the joins, and
 *   cross-boundary sections — joined to a reach or lake on the route, or within the radius;
 *   each at its position along the route;
 * - the route is split into legs by jurisdiction (the joins' reach→county segments), each with
 *   its lead agency (the river-chief office) and, where the caller may see them, the liaison;
 * - time = length / speed (10 km/h by boat, 4 km/h on foot) + a dwell per stop (10 min);
 * - stops describe the state on the plan's date: the outfall inventory's version in force then,
 *   hyacinth reports not cleared by then, patrol findings found by then and not closed by then
 *   (their state as of the date); stop_kinds keeps only some kinds;
 * - with day_hours, the route is split into days of at most that time, a stop never split from
 *   its dwell; each day starts where the last ended, on the next calendar day. */
#ifndef CR_OPS_PATROL_H
#define CR_OPS_PATROL_H

#include "network/network.h"

typedef struct {
    const char *rivers;      /* comma-separated names (a reach matches when its name contains
                                one), or NULL */
    const char *reaches;     /* comma-separated reach IDs, or NULL */
    int has_from, has_to;    /* start / end given as points */
    double from[2], to[2];   /* lon, lat */
    const char *date;        /* YYYY-MM-DD: reports up to the end of this day; NULL: today */
    int on_foot;             /* else by boat */
    double speed_kmh;        /* <= 0: 10 by boat, 4 on foot */
    double dwell_min;        /* < 0: 10 */
    double radius_m;         /* <= 0: 300; stops off the route's reaches and lakes */
    const char *stop_kinds;  /* comma list of hyacinth, outfall, section, finding; NULL: all */
    double day_hours;        /* > 0: split into days of at most this many hours */
    const cr_access *access; /* contacts' liaison and mobile phone where it opens them */
    const cr_reach_index *reach_index; /* for a point far from any node; NULL: loaded when needed */
} cr_patrol_request;

/* The name of the "一河三湖" set: the rivers it stands for. */
#define CR_PATROL_YIHE_SANHU "太浦河,淀山湖,元荡,汾湖"

/* Plan a patrol: {date, mode, speed_kmh, dwell_min, length_km, travel_h, time_h,
 * route: {reaches: [{reach_id, name, reversed, from_km, to_km}], coordinates: [[lon, lat]…]},
 * legs: [{seq, county_code, county_name, from_km, to_km, length_km, time_h, lead_agency,
 * duty_phone, liaison?, phone?, stops: [seq…]}], stops: [{seq, km, leg, layer, id, name, issue,
 * detail, county_code, lon, lat, off_route_m}], days (with day_hours): [{day, date, from_km,
 * to_km, time_h, start: [lon, lat], end: [lon, lat], stops: [seq…]}]}. Errors: an unknown stop
 * kind (CR_EINVAL), nothing selected or a point with no
 * node within 2 km (CR_ENOTFOUND), the store. Strings in req are borrowed for the call; caller
 * frees *out with json_decref (left untouched after an error). */
cr_status cr_patrol_plan(cr_store *store, const cr_graph *g, const cr_patrol_request *req,
                         json_t **out, cr_error *err);

#endif
