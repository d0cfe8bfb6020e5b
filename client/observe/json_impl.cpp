// Boost.JSON compiled once, into the client library (the statistics JSON, observe/statistics.cpp):
// Debian ships Boost.JSON without a compiled library, so its sources are built here, as Asio's
// are in core/asio_impl.cpp. An application linking kwire uses these (boost/json.hpp) and must
// not compile boost/json/src.hpp again.
#include <boost/json/src.hpp>
