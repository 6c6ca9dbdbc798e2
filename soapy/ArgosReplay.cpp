// SPDX-License-Identifier: GPL-3.0-or-later
//
// argosreplay: a SoapySDR receive device that replays a capture file.
//
// Debian ships no SoapySDR device that streams without hardware, so this module lets argosneo
// exercise its live path (SoapySDR.Device -> setupStream -> readStream) end to end through the
// real libSoapySDR, including the faults a live receiver must survive: overflows, a device that
// vanishes and comes back, slow consumers.
//
// Device arguments (all optional except the file):
//
//   file=PATH          capture to replay (or env ARGOSREPLAY_FILE when file= is absent).
//                      Raw interleaved I/Q by extension: .cf32/.cfile/.fc32 (float32),
//                      .cs16/.sc16 (int16), .cs8/.sc8 (int8), .cu8 (RTL-SDR offset binary);
//                      or SigMF: PATH.sigmf-data (or .sigmf-meta) whose meta gives
//                      core:datatype (cf32_le, ci16_le, ci8, cu8), core:sample_rate,
//                      core:frequency and core:datetime (first capture segment).
//   format=F           override the raw datatype (cf32, cs16, cs8, cu8 or the SigMF names).
//   rate=HZ            sample rate of the file = replay pace (default: core:sample_rate; raw
//                      files without rate= are refused). setSampleRate accepts only this rate.
//   freq=HZ            centre frequency of the file (default: core:frequency, else unknown).
//                      When known, tuning elsewhere shifts the spectrum digitally as a real
//                      tuner would (a signal at RF F appears at F - tuned frequency).
//   realtime=1|0       1 (default): samples become available paced by the host clock;
//                      0: as fast as the consumer reads.
//   speed=X            realtime=1 pace in multiples of real time (default 1): samples, their
//                      hardware time and the FIFO run X times faster than the host clock, so a
//                      consumer that cannot keep up at X times real time overflows as it would
//                      on a device X times faster.
//   loop=0|1           0 (default): at the end of the file the last read carries
//                      SOAPY_SDR_END_BURST, later reads time out. 1: wrap around (sample
//                      indices and hardware time keep increasing).
//   overflow_at=N1;N2  stream sample indices at which the device drops overflow_len samples
//                      (default 4096); separate with ';' or ':' (',' only when the args are
//                      passed as a map, since a Kwargs string splits on commas). The read
//                      before stops at N, the next read returns
//                      SOAPY_SDR_OVERFLOW once, the one after delivers sample N+overflow_len
//                      with its true hardware time.
//   disconnect_at=N    at stream sample N the device "unplugs": readStream returns
//                      SOAPY_SDR_STREAM_ERROR from then on, setters throw. Making a new device
//                      with the same args succeeds and continues at sample N (realtime=0) or at
//                      the sample due now (realtime=1; the outage is lost, as on hardware).
//                      Process-global state carries the position and time epoch over.
//   reopen_fail=K      after a disconnect, the next K make() calls fail ("not found") so that
//                      the consumer's reopen backoff is exercised.
//   buffer=N           device FIFO in samples for realtime=1 (default: 0.5 s of samples); a
//                      consumer that falls further behind gets SOAPY_SDR_OVERFLOW and a gap.
//   hwtime=1|0         1 (default): reads carry SOAPY_SDR_HAS_TIME; 0: no hardware time.
//   epoch_ns=T         hardware time of sample 0 in ns since the Unix epoch (default:
//                      core:datetime, else the host clock at first activation).
//   serial=S           filter: match only the device whose serial is S (serial = a hash of
//                      the canonical file path, shown by enumeration).
//
// Gain: one element "DIGITAL", 0..40 dB, applied as a digital scale 10^(g/20) (0 dB and AGC
// give the file's samples unchanged). Frequency correction (ppm), bandwidth and antenna are
// accepted and reported back: a file has no oscillator, filter or antenna to change.
// Output stream formats: CF32 and CS16 (full scale 32768). Integer files are scaled like
// argosneo.io.datatypes: int16/32768, int8/128, (cu8 - 127.5)/127.5.

#include <SoapySDR/Device.hpp>
#include <SoapySDR/Formats.hpp>
#include <SoapySDR/Logger.hpp>
#include <SoapySDR/Modules.hpp>
#include <SoapySDR/Registry.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <complex>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <limits.h>
#include <map>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

enum class Fmt { CF32, CS16, CS8, CU8 };

size_t bytesPerSample(Fmt f)
{
    switch (f)
    {
    case Fmt::CF32: return 8;
    case Fmt::CS16: return 4;
    default: return 2;
    }
}

bool endsWith(const std::string &s, const std::string &suffix)
{
    return s.size() >= suffix.size() and s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string lower(std::string s)
{
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
    return s;
}

bool parseFormat(const std::string &name, Fmt &out)
{
    const std::string n = lower(name);
    if (n == "cf32" or n == "cf32_le" or n == "fc32" or n == "cfile") out = Fmt::CF32;
    else if (n == "cs16" or n == "ci16" or n == "ci16_le" or n == "sc16") out = Fmt::CS16;
    else if (n == "cs8" or n == "ci8" or n == "sc8") out = Fmt::CS8;
    else if (n == "cu8") out = Fmt::CU8;
    else return false;
    return true;
}

const char *formatName(Fmt f)
{
    switch (f)
    {
    case Fmt::CF32: return "cf32_le";
    case Fmt::CS16: return "ci16_le";
    case Fmt::CS8: return "ci8";
    default: return "cu8";
    }
}

std::string canonicalPath(const std::string &path)
{
    char buf[PATH_MAX];
    if (realpath(path.c_str(), buf) == nullptr) return "";
    return buf;
}

// FNV-1a of the canonical path: a stable serial for a file without reading it.
std::string serialFor(const std::string &canonical)
{
    uint64_t h = 1469598103934665603ull;
    for (unsigned char c : canonical) { h ^= c; h *= 1099511628211ull; }
    char out[17];
    std::snprintf(out, sizeof(out), "%016llx", (unsigned long long)h);
    return out;
}

// Minimal SigMF meta scan: the first occurrence of "key" : value. Enough for the flat keys we
// need (core:datatype, core:sample_rate in global; core:frequency/core:datetime in the first
// capture segment, which is the first occurrence in a well-formed file).
bool scanJsonValue(const std::string &text, const std::string &key, std::string &value)
{
    const std::string quoted = "\"" + key + "\"";
    size_t p = text.find(quoted);
    if (p == std::string::npos) return false;
    p += quoted.size();
    while (p < text.size() and std::isspace((unsigned char)text[p])) p++;
    if (p >= text.size() or text[p] != ':') return false;
    p++;
    while (p < text.size() and std::isspace((unsigned char)text[p])) p++;
    if (p >= text.size()) return false;
    if (text[p] == '"')
    {
        const size_t end = text.find('"', p + 1);
        if (end == std::string::npos) return false;
        value = text.substr(p + 1, end - p - 1);
        return true;
    }
    size_t end = p;
    while (end < text.size() and text[end] != ',' and text[end] != '}' and text[end] != ']' and
           not std::isspace((unsigned char)text[end]))
        end++;
    value = text.substr(p, end - p);
    return not value.empty();
}

double parseDouble(const std::string &s, const std::string &what)
{
    char *end = nullptr;
    const double v = std::strtod(s.c_str(), &end);
    if (s.empty() or end == s.c_str() or *end != '\0' or not std::isfinite(v))
        throw std::runtime_error("argosreplay: " + what + "=" + s + " is not a number");
    return v;
}

long long parseInt(const std::string &s, const std::string &what)
{
    char *end = nullptr;
    const long long v = std::strtoll(s.c_str(), &end, 10);
    if (s.empty() or end == s.c_str() or *end != '\0')
        throw std::runtime_error("argosreplay: " + what + "=" + s + " is not an integer");
    return v;
}

// ISO 8601 UTC ("2024-05-01T12:00:00.25Z") -> ns since the Unix epoch; -1 when unparsable.
long long parseIsoUtc(const std::string &s)
{
    int Y, M, D, h, m;
    double sec;
    if (std::sscanf(s.c_str(), "%d-%d-%dT%d:%d:%lf", &Y, &M, &D, &h, &m, &sec) != 6) return -1;
    struct tm t;
    std::memset(&t, 0, sizeof(t));
    t.tm_year = Y - 1900;
    t.tm_mon = M - 1;
    t.tm_mday = D;
    t.tm_hour = h;
    t.tm_min = m;
    t.tm_sec = 0;
    const time_t whole = timegm(&t);
    return (long long)whole * 1000000000LL + (long long)std::llround(sec * 1e9);
}

long long hostNowNs()
{
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::string argsKey(const SoapySDR::Kwargs &args)
{
    return SoapySDR::KwargsToString(args);
}

// What a re-made device needs to continue where an "unplugged" one stopped. Process-global
// because libSoapySDR constructs a brand-new Device object on re-open.
struct ResumeState
{
    long long position = 0;        // stream sample index at the disconnect
    long long epochNs = 0;         // hardware time of sample 0
    long long stoppedHostNs = 0;   // host time of the disconnect (to skip the outage in realtime)
    long long failMakes = 0;       // remaining make() calls that must fail
};

std::mutex &resumeMutex()
{
    static std::mutex m;
    return m;
}

std::map<std::string, ResumeState> &resumeTable()
{
    static std::map<std::string, ResumeState> t;
    return t;
}

struct FileSpec
{
    std::string path;      // canonical data file
    Fmt fmt = Fmt::CF32;
    double rate = 0.0;     // 0 = unknown
    double freq = NAN;     // NaN = unknown
    long long epochNs = -1;
};

std::string readWhole(const std::string &path)
{
    std::ifstream in(path, std::ios::binary);
    if (not in) throw std::runtime_error("argosreplay: cannot read " + path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::string fileArg(const SoapySDR::Kwargs &args)
{
    if (args.count("file") and not args.at("file").empty()) return args.at("file");
    const char *env = std::getenv("ARGOSREPLAY_FILE");
    return env == nullptr ? "" : env;
}

FileSpec describeFile(const SoapySDR::Kwargs &args)
{
    FileSpec spec;
    std::string file = fileArg(args);
    if (file.empty()) throw std::runtime_error("argosreplay: no file= given (nor ARGOSREPLAY_FILE)");
    if (endsWith(lower(file), ".sigmf-meta")) file = file.substr(0, file.size() - 5) + "data";
    if (endsWith(lower(file), ".sigmf")) throw std::runtime_error("argosreplay: SigMF archives (.sigmf) are not supported; extract the .sigmf-data/.sigmf-meta pair");
    spec.path = canonicalPath(file);
    if (spec.path.empty()) throw std::runtime_error("argosreplay: capture file not found: " + file);

    bool haveFmt = false;
    if (endsWith(lower(spec.path), ".sigmf-data"))
    {
        const std::string metaPath = spec.path.substr(0, spec.path.size() - 4) + "meta";
        const std::string meta = readWhole(metaPath);
        std::string v;
        if (not scanJsonValue(meta, "core:datatype", v))
            throw std::runtime_error("argosreplay: " + metaPath + " has no core:datatype");
        if (not parseFormat(v, spec.fmt))
            throw std::runtime_error("argosreplay: SigMF datatype " + v + " not supported (cf32_le, ci16_le, ci8, cu8)");
        haveFmt = true;
        if (scanJsonValue(meta, "core:sample_rate", v)) spec.rate = parseDouble(v, "core:sample_rate");
        if (scanJsonValue(meta, "core:frequency", v)) spec.freq = parseDouble(v, "core:frequency");
        if (scanJsonValue(meta, "core:datetime", v)) spec.epochNs = parseIsoUtc(v);
    }
    else
    {
        const std::string lp = lower(spec.path);
        const size_t dot = lp.find_last_of('.');
        if (dot != std::string::npos and parseFormat(lp.substr(dot + 1), spec.fmt)) haveFmt = true;
    }
    if (args.count("format"))
    {
        if (not parseFormat(args.at("format"), spec.fmt))
            throw std::runtime_error("argosreplay: format=" + args.at("format") + " not supported (cf32, cs16, cs8, cu8)");
        haveFmt = true;
    }
    if (not haveFmt)
        throw std::runtime_error("argosreplay: cannot tell the sample format of " + spec.path + " (use .cf32/.cs16/.cs8/.cu8, SigMF, or format=)");
    if (args.count("rate")) spec.rate = parseDouble(args.at("rate"), "rate");
    if (not (spec.rate > 0.0))
        throw std::runtime_error("argosreplay: sample rate of " + spec.path + " unknown: pass rate=HZ");
    if (args.count("freq")) spec.freq = parseDouble(args.at("freq"), "freq");
    if (args.count("epoch_ns")) spec.epochNs = parseInt(args.at("epoch_ns"), "epoch_ns");
    return spec;
}

constexpr size_t kMTU = 65536;
constexpr double kMaxGainDb = 40.0;

class ArgosReplay : public SoapySDR::Device
{
public:
    explicit ArgosReplay(const SoapySDR::Kwargs &args)
        : _key(argsKey(args)), _spec(describeFile(args))
    {
        _serial = serialFor(_spec.path);
        _realtime = not args.count("realtime") or parseInt(args.at("realtime"), "realtime") != 0;
        _loop = args.count("loop") and parseInt(args.at("loop"), "loop") != 0;
        _hwtime = not args.count("hwtime") or parseInt(args.at("hwtime"), "hwtime") != 0;
        if (args.count("overflow_len")) _overflowLen = parseInt(args.at("overflow_len"), "overflow_len");
        if (_overflowLen <= 0) throw std::runtime_error("argosreplay: overflow_len must be > 0");
        if (args.count("overflow_at"))
        {
            // a Kwargs *string* cannot carry commas inside a value, so ';' and ':' separate too
            std::string item;
            for (const char c : args.at("overflow_at") + ",")
            {
                if (c == ',' or c == ';' or c == ':')
                {
                    if (not item.empty()) _overflowAt.push_back(parseInt(item, "overflow_at"));
                    item.clear();
                }
                else if (not std::isspace((unsigned char)c)) item += c;
            }
            std::sort(_overflowAt.begin(), _overflowAt.end());
        }
        if (args.count("disconnect_at")) _disconnectAt = parseInt(args.at("disconnect_at"), "disconnect_at");
        if (args.count("reopen_fail")) _reopenFail = parseInt(args.at("reopen_fail"), "reopen_fail");
        _bufferLen = (long long)std::llround(0.5 * _spec.rate);
        if (args.count("buffer")) _bufferLen = parseInt(args.at("buffer"), "buffer");
        if (_bufferLen < 1) throw std::runtime_error("argosreplay: buffer must be >= 1 sample");
        if (args.count("speed")) _speed = parseDouble(args.at("speed"), "speed");
        if (not (_speed > 0.0 and std::isfinite(_speed))) throw std::runtime_error("argosreplay: speed must be > 0");

        _fp = std::fopen(_spec.path.c_str(), "rb");
        if (_fp == nullptr) throw std::runtime_error("argosreplay: cannot open " + _spec.path);
        std::fseek(_fp, 0, SEEK_END);
        const long long bytes = std::ftell(_fp);
        _total = bytes / (long long)bytesPerSample(_spec.fmt);
        if (_total <= 0)
        {
            std::fclose(_fp);
            throw std::runtime_error("argosreplay: " + _spec.path + " holds no samples");
        }
        _tuned = std::isnan(_spec.freq) ? 0.0 : _spec.freq;

        {
            std::lock_guard<std::mutex> lock(resumeMutex());
            auto it = resumeTable().find(_key);
            if (it != resumeTable().end())
            {
                if (it->second.failMakes > 0)
                {
                    it->second.failMakes--;
                    std::fclose(_fp);
                    throw std::runtime_error("argosreplay: device not found (replaying an unplugged device)");
                }
                const ResumeState st = it->second;
                resumeTable().erase(it);
                _pos = st.position;
                if (_realtime)
                {
                    _pos += (long long)std::floor((hostNowNs() - st.stoppedHostNs) * 1e-9 * _spec.rate * _speed);
                    if (not _loop) _pos = std::min(_pos, _total);
                }
                _epochNs = st.epochNs;
                _haveEpoch = true;
                _resumed = true;
            }
        }
        if (not _haveEpoch and _spec.epochNs >= 0)
        {
            _epochNs = _spec.epochNs;
            _haveEpoch = true;
        }
        // events before the resume point happened to the previous incarnation
        _nextOverflow = std::lower_bound(_overflowAt.begin(), _overflowAt.end(), _pos) - _overflowAt.begin();
        _disconnectDone = _disconnectAt < 0 or (_resumed and _disconnectAt <= _pos);
    }

    ~ArgosReplay(void) override
    {
        if (_fp != nullptr) std::fclose(_fp);
    }

    // ---- identification -------------------------------------------------------------------
    std::string getDriverKey(void) const override { return "argosreplay"; }
    std::string getHardwareKey(void) const override { return "argosreplay:" + _serial; }

    SoapySDR::Kwargs getHardwareInfo(void) const override
    {
        SoapySDR::Kwargs info;
        info["file"] = _spec.path;
        info["datatype"] = formatName(_spec.fmt);
        info["samples"] = std::to_string(_total);
        info["serial"] = _serial;
        info["realtime"] = _realtime ? "1" : "0";
        info["resumed"] = _resumed ? "1" : "0";
        return info;
    }

    size_t getNumChannels(const int direction) const override
    {
        return direction == SOAPY_SDR_RX ? 1 : 0;
    }

    // ---- streams ----------------------------------------------------------------------------
    std::vector<std::string> getStreamFormats(const int, const size_t) const override
    {
        return {SOAPY_SDR_CF32, SOAPY_SDR_CS16};
    }

    std::string getNativeStreamFormat(const int, const size_t, double &fullScale) const override
    {
        if (_spec.fmt == Fmt::CF32)
        {
            fullScale = 1.0;
            return SOAPY_SDR_CF32;
        }
        fullScale = 32768.0;
        return SOAPY_SDR_CS16;
    }

    SoapySDR::Stream *setupStream(const int direction, const std::string &format,
                                  const std::vector<size_t> &channels, const SoapySDR::Kwargs &) override
    {
        checkPresent();
        if (direction != SOAPY_SDR_RX) throw std::runtime_error("argosreplay: receive only");
        if (channels.size() > 1 or (channels.size() == 1 and channels[0] != 0))
            throw std::runtime_error("argosreplay: one channel (0) only");
        if (format == SOAPY_SDR_CF32) _outCF32 = true;
        else if (format == SOAPY_SDR_CS16) _outCF32 = false;
        else throw std::runtime_error("argosreplay: stream format " + format + " not supported (CF32, CS16)");
        if (_streamOpen) throw std::runtime_error("argosreplay: stream already set up");
        _streamOpen = true;
        return reinterpret_cast<SoapySDR::Stream *>(this);
    }

    void closeStream(SoapySDR::Stream *) override
    {
        _active = false;
        _streamOpen = false;
    }

    size_t getStreamMTU(SoapySDR::Stream *) const override { return kMTU; }

    int activateStream(SoapySDR::Stream *, const int, const long long, const size_t) override
    {
        if (_gone) return SOAPY_SDR_STREAM_ERROR;
        if (not _haveEpoch)
        {
            _epochNs = hostNowNs() - (long long)std::llround(_pos / _spec.rate * 1e9);
            _haveEpoch = true;
        }
        _paceHost = std::chrono::steady_clock::now();
        _pacePos = _pos;
        _active = true;
        return 0;
    }

    int deactivateStream(SoapySDR::Stream *, const int, const long long) override
    {
        _active = false;
        return 0;
    }

    int readStream(SoapySDR::Stream *, void *const *buffs, const size_t numElems, int &flags,
                   long long &timeNs, const long timeoutUs) override
    {
        flags = 0;
        timeNs = 0;
        if (_gone or not _active) return SOAPY_SDR_STREAM_ERROR;

        if (not _disconnectDone and _pos >= _disconnectAt)
        {
            unplug();
            return SOAPY_SDR_STREAM_ERROR;
        }
        if (_nextOverflow < _overflowAt.size() and _pos >= _overflowAt[_nextOverflow])
        {
            _nextOverflow++;
            skip(_overflowLen);
            return SOAPY_SDR_OVERFLOW;
        }
        if (not _loop and _pos >= _total)
        {
            if (not _endReported)
            {
                _endReported = true;
                flags = SOAPY_SDR_END_BURST;
                return 0;
            }
            std::this_thread::sleep_for(std::chrono::microseconds(std::max(0L, timeoutUs)));
            return SOAPY_SDR_TIMEOUT;
        }

        long long n = (long long)std::min(numElems, kMTU);
        if (not _disconnectDone) n = std::min(n, _disconnectAt - _pos);
        if (_nextOverflow < _overflowAt.size()) n = std::min(n, _overflowAt[_nextOverflow] - _pos);
        if (not _loop) n = std::min(n, _total - _pos);
        if (n <= 0) return SOAPY_SDR_TIMEOUT;

        if (_realtime)
        {
            long long avail = available();
            if (avail > _bufferLen)
            {
                // the consumer fell behind further than the device FIFO holds: drop down to half
                // a FIFO, so the next read delivers data even at a fast pace (dropping only the
                // excess would leave the FIFO full and overflow again on every call)
                skip(avail - _bufferLen / 2);
                return SOAPY_SDR_OVERFLOW;
            }
            const auto deadline = std::chrono::steady_clock::now() + std::chrono::microseconds(std::max(0L, timeoutUs));
            if (avail < n)
            {
                const auto due = _paceHost + std::chrono::nanoseconds((long long)std::ceil((_pos + n - _pacePos) / (_spec.rate * _speed) * 1e9));
                std::this_thread::sleep_until(std::min(due, deadline));
                avail = available();
            }
            if (avail <= 0) return SOAPY_SDR_TIMEOUT;
            n = std::min(n, avail);
        }

        readSamples(buffs[0], (size_t)n);
        if (_hwtime)
        {
            flags |= SOAPY_SDR_HAS_TIME;
            timeNs = sampleTimeNs(_pos);
        }
        _pos += n;
        if (not _loop and _pos >= _total)
        {
            flags |= SOAPY_SDR_END_BURST;
            _endReported = true;
        }
        return (int)n;
    }

    // ---- antenna ----------------------------------------------------------------------------
    std::vector<std::string> listAntennas(const int, const size_t) const override { return {"RX"}; }

    void setAntenna(const int, const size_t, const std::string &name) override
    {
        checkPresent();
        if (name != "RX") throw std::runtime_error("argosreplay: no antenna " + name + " (only RX)");
        _antenna = name;
    }

    std::string getAntenna(const int, const size_t) const override { return _antenna; }

    // ---- frequency --------------------------------------------------------------------------
    void setFrequency(const int, const size_t, const double frequency, const SoapySDR::Kwargs &) override
    {
        checkPresent();
        if (not (frequency > 0.0)) throw std::runtime_error("argosreplay: frequency must be > 0");
        std::lock_guard<std::mutex> lock(_paramMutex);
        _tuned = frequency;
    }

    void setFrequency(const int dir, const size_t ch, const std::string &name, const double frequency,
                      const SoapySDR::Kwargs &args) override
    {
        if (name != "RF") throw std::runtime_error("argosreplay: no tuning element " + name + " (only RF)");
        setFrequency(dir, ch, frequency, args);
    }

    double getFrequency(const int, const size_t) const override
    {
        std::lock_guard<std::mutex> lock(_paramMutex);
        return _tuned;
    }

    double getFrequency(const int dir, const size_t ch, const std::string &) const override
    {
        return getFrequency(dir, ch);
    }

    std::vector<std::string> listFrequencies(const int, const size_t) const override { return {"RF"}; }

    SoapySDR::RangeList getFrequencyRange(const int, const size_t) const override
    {
        return {SoapySDR::Range(1.0, 6e9)};
    }

    SoapySDR::RangeList getFrequencyRange(const int, const size_t, const std::string &) const override
    {
        return {SoapySDR::Range(1.0, 6e9)};
    }

    bool hasFrequencyCorrection(const int, const size_t) const override { return true; }

    void setFrequencyCorrection(const int, const size_t, const double value) override
    {
        checkPresent();
        if (not std::isfinite(value) or std::fabs(value) > 1000.0)
            throw std::runtime_error("argosreplay: frequency correction must be within +-1000 ppm");
        _ppm = value;
    }

    double getFrequencyCorrection(const int, const size_t) const override { return _ppm; }

    // ---- gain -------------------------------------------------------------------------------
    std::vector<std::string> listGains(const int, const size_t) const override { return {"DIGITAL"}; }
    bool hasGainMode(const int, const size_t) const override { return true; }

    void setGainMode(const int, const size_t, const bool automatic) override
    {
        checkPresent();
        std::lock_guard<std::mutex> lock(_paramMutex);
        _agc = automatic;
    }

    bool getGainMode(const int, const size_t) const override
    {
        std::lock_guard<std::mutex> lock(_paramMutex);
        return _agc;
    }

    void setGain(const int, const size_t, const double value) override
    {
        checkPresent();
        if (not std::isfinite(value)) throw std::runtime_error("argosreplay: gain must be finite");
        std::lock_guard<std::mutex> lock(_paramMutex);
        _gainDb = std::min(std::max(value, 0.0), kMaxGainDb);  // clip like hardware does
    }

    void setGain(const int dir, const size_t ch, const std::string &name, const double value) override
    {
        if (name != "DIGITAL") throw std::runtime_error("argosreplay: no gain element " + name + " (only DIGITAL)");
        setGain(dir, ch, value);
    }

    double getGain(const int, const size_t) const override
    {
        std::lock_guard<std::mutex> lock(_paramMutex);
        return _gainDb;
    }

    double getGain(const int dir, const size_t ch, const std::string &) const override { return getGain(dir, ch); }

    SoapySDR::Range getGainRange(const int, const size_t) const override
    {
        return SoapySDR::Range(0.0, kMaxGainDb, 1.0);
    }

    SoapySDR::Range getGainRange(const int, const size_t, const std::string &) const override
    {
        return SoapySDR::Range(0.0, kMaxGainDb, 1.0);
    }

    // ---- sample rate / bandwidth ------------------------------------------------------------
    void setSampleRate(const int, const size_t, const double rate) override
    {
        checkPresent();
        if (std::fabs(rate - _spec.rate) > 1e-6 * _spec.rate)
        {
            std::ostringstream msg;
            msg << "argosreplay: the capture is at " << _spec.rate << " Hz; cannot stream at " << rate << " Hz";
            throw std::runtime_error(msg.str());
        }
    }

    double getSampleRate(const int, const size_t) const override { return _spec.rate; }
    std::vector<double> listSampleRates(const int, const size_t) const override { return {_spec.rate}; }
    SoapySDR::RangeList getSampleRateRange(const int, const size_t) const override
    {
        return {SoapySDR::Range(_spec.rate, _spec.rate)};
    }

    void setBandwidth(const int, const size_t, const double bw) override
    {
        checkPresent();
        if (not (bw >= 0.0)) throw std::runtime_error("argosreplay: bandwidth must be >= 0");
        _bandwidth = bw == 0.0 ? _spec.rate : std::min(bw, _spec.rate);
    }

    double getBandwidth(const int, const size_t) const override { return _bandwidth > 0.0 ? _bandwidth : _spec.rate; }
    SoapySDR::RangeList getBandwidthRange(const int, const size_t) const override
    {
        return {SoapySDR::Range(0.0, _spec.rate)};
    }

    // ---- time -------------------------------------------------------------------------------
    bool hasHardwareTime(const std::string &what) const override { return _hwtime and what.empty(); }

    long long getHardwareTime(const std::string &) const override
    {
        if (not _haveEpoch) return hostNowNs();
        if (_active and _realtime)
        {
            const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - _paceHost).count();
            return _epochNs + (long long)std::llround((_pacePos / _spec.rate + elapsed * _speed) * 1e9);
        }
        return sampleTimeNs(_pos);
    }

    void setHardwareTime(const long long timeNs, const std::string &what) override
    {
        if (not what.empty()) throw std::runtime_error("argosreplay: no time source " + what);
        _epochNs = timeNs - (getHardwareTime("") - _epochNs);
        _haveEpoch = true;
    }

    // ---- sensors ----------------------------------------------------------------------------
    std::vector<std::string> listSensors(void) const override { return {"connected", "position"}; }

    std::string readSensor(const std::string &key) const override
    {
        if (key == "connected") return _gone ? "false" : "true";
        if (key == "position") return std::to_string(_pos);
        throw std::runtime_error("argosreplay: no sensor " + key);
    }

private:
    void checkPresent() const
    {
        if (_gone) throw std::runtime_error("argosreplay: device disconnected");
    }

    long long sampleTimeNs(long long index) const
    {
        return _epochNs + (long long)std::llround(index / _spec.rate * 1e9);
    }

    long long available() const
    {
        const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - _paceHost).count();
        return _pacePos + (long long)std::floor(elapsed * _spec.rate * _speed) - _pos;
    }

    // Advance the stream position without delivering; events inside the gap are clamped so a
    // disconnect is never jumped over and the end of a non-looping file is not overshot.
    void skip(long long count)
    {
        long long target = _pos + count;
        if (not _disconnectDone) target = std::min(target, std::max(_pos, _disconnectAt));
        if (not _loop) target = std::min(target, _total);
        while (_nextOverflow < _overflowAt.size() and _overflowAt[_nextOverflow] < target) _nextOverflow++;
        _pos = target;
    }

    void unplug()
    {
        _gone = true;
        _active = false;
        std::lock_guard<std::mutex> lock(resumeMutex());
        ResumeState st;
        st.position = _pos;
        st.epochNs = _epochNs;
        st.stoppedHostNs = hostNowNs();
        st.failMakes = _reopenFail;
        resumeTable()[_key] = st;
        SoapySDR::logf(SOAPY_SDR_WARNING, "argosreplay: device unplugged at sample %lld", _pos);
    }

    void readSamples(void *out, size_t n)
    {
        const size_t bps = bytesPerSample(_spec.fmt);
        _raw.resize(n * bps);
        size_t done = 0;
        while (done < n)
        {
            const long long filePos = _pos % _total + (long long)done;
            const long long wrapped = filePos % _total;
            const size_t take = (size_t)std::min<long long>((long long)(n - done), _total - wrapped);
            if (std::fseek(_fp, (long)(wrapped * (long long)bps), SEEK_SET) != 0 or
                std::fread(_raw.data() + done * bps, bps, take, _fp) != take)
                throw std::runtime_error("argosreplay: read error on " + _spec.path);
            done += take;
        }

        double gainDb, tuned;
        bool agc;
        {
            std::lock_guard<std::mutex> lock(_paramMutex);
            gainDb = _gainDb;
            tuned = _tuned;
            agc = _agc;
        }
        const float scale = agc ? 1.0f : (float)std::pow(10.0, gainDb / 20.0);
        const double shiftHz = std::isnan(_spec.freq) ? 0.0 : _spec.freq - tuned;

        _work.resize(n);
        const uint8_t *raw = _raw.data();
        switch (_spec.fmt)
        {
        case Fmt::CF32:
            std::memcpy(_work.data(), raw, n * 8);
            break;
        case Fmt::CS16:
            for (size_t i = 0; i < n; i++)
            {
                int16_t iq[2];
                std::memcpy(iq, raw + 4 * i, 4);
                _work[i] = std::complex<float>(iq[0] / 32768.0f, iq[1] / 32768.0f);
            }
            break;
        case Fmt::CS8:
            for (size_t i = 0; i < n; i++)
                _work[i] = std::complex<float>((int8_t)raw[2 * i] / 128.0f, (int8_t)raw[2 * i + 1] / 128.0f);
            break;
        case Fmt::CU8:
            for (size_t i = 0; i < n; i++)
                _work[i] = std::complex<float>((raw[2 * i] - 127.5f) / 127.5f, (raw[2 * i + 1] - 127.5f) / 127.5f);
            break;
        }

        if (shiftHz != 0.0)
        {
            // phase from the absolute stream index so a retune is glitch-free across reads
            const double cyclesPerSample = shiftHz / _spec.rate;
            double phase0 = std::fmod(cyclesPerSample * (double)_pos, 1.0);
            for (size_t i = 0; i < n; i++)
            {
                const double ph = 2.0 * M_PI * (phase0 + cyclesPerSample * (double)i);
                _work[i] *= std::complex<float>((float)std::cos(ph), (float)std::sin(ph));
            }
        }
        if (scale != 1.0f)
            for (size_t i = 0; i < n; i++) _work[i] *= scale;

        if (_outCF32)
        {
            std::memcpy(out, _work.data(), n * sizeof(std::complex<float>));
        }
        else
        {
            int16_t *o = static_cast<int16_t *>(out);
            auto conv = [](float x) {
                const float v = std::nearbyint(x * 32768.0f);
                return (int16_t)std::min(32767.0f, std::max(-32768.0f, v));
            };
            for (size_t i = 0; i < n; i++)
            {
                o[2 * i] = conv(_work[i].real());
                o[2 * i + 1] = conv(_work[i].imag());
            }
        }
    }

    const std::string _key;
    const FileSpec _spec;
    std::string _serial;
    bool _realtime = true, _loop = false, _hwtime = true;
    long long _overflowLen = 4096;
    std::vector<long long> _overflowAt;
    size_t _nextOverflow = 0;
    long long _disconnectAt = -1;
    bool _disconnectDone = true;
    long long _reopenFail = 0;
    long long _bufferLen = 0;
    double _speed = 1.0;   // realtime pace relative to the sample rate

    FILE *_fp = nullptr;
    long long _total = 0;
    long long _pos = 0;          // stream index of the next sample to deliver
    long long _epochNs = 0;
    bool _haveEpoch = false;
    bool _resumed = false;

    std::atomic<bool> _gone{false};
    bool _active = false, _streamOpen = false, _outCF32 = true, _endReported = false;
    std::chrono::steady_clock::time_point _paceHost;
    long long _pacePos = 0;

    mutable std::mutex _paramMutex;
    double _tuned = 0.0, _gainDb = 0.0, _ppm = 0.0, _bandwidth = 0.0;
    bool _agc = false;
    std::string _antenna = "RX";

    std::vector<uint8_t> _raw;
    std::vector<std::complex<float>> _work;
};

// Never scans anything: a device exists only for an explicitly named capture file.
SoapySDR::KwargsList findArgosReplay(const SoapySDR::Kwargs &args)
{
    const std::string file = fileArg(args);
    if (file.empty()) return {};
    std::string path = file;
    if (endsWith(lower(path), ".sigmf-meta")) path = path.substr(0, path.size() - 5) + "data";
    const std::string canonical = canonicalPath(path);
    if (canonical.empty()) return {};
    const std::string serial = serialFor(canonical);
    if (args.count("serial") and args.at("serial") != serial) return {};
    const size_t slash = canonical.find_last_of('/');
    SoapySDR::Kwargs dev;
    dev["file"] = canonical;
    dev["serial"] = serial;
    dev["label"] = "Argos replay: " + canonical.substr(slash == std::string::npos ? 0 : slash + 1);
    return {dev};
}

SoapySDR::Device *makeArgosReplay(const SoapySDR::Kwargs &args)
{
    return new ArgosReplay(args);
}

SoapySDR::Registry registerArgosReplay("argosreplay", &findArgosReplay, &makeArgosReplay, SOAPY_SDR_ABI_VERSION);
SoapySDR::ModuleVersion registerVersion("0.1.0");

}  // namespace
