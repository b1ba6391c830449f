/* a geometry file that reaches up into the store */
#include "geo/geo.h"
#include "store/store.h"
