line 1
  ${user_data.nope.deeper}