// The one translation unit that compiles Asio's and Beast's implementation
// (BOOST_ASIO_SEPARATE_COMPILATION / BOOST_BEAST_SEPARATE_COMPILATION are set on the
// voxgate_asio target), so no other file pays for it.
#include <boost/asio/impl/src.hpp>
#include <boost/beast/src.hpp>
