#ifndef SAMBAT_CZEROMQ_SHIM_H
#define SAMBAT_CZEROMQ_SHIM_H
#include <zmq.h>
#endif
