#ifndef SAMBAT_CZEROMQ_SHIM_H
#define SAMBAT_CZEROMQ_SHIM_H
#include <zmq.h>
/* The socket owner thread wakes on an eventfd polled beside its socket (house style Z2-Z3). */
#include <sys/eventfd.h>
#endif
