"""Session-wide test set-up."""

import soapy_env

# before any test can make libSoapySDR load its modules (it does so once per process)
soapy_env.configure()
